"""The CA's public endpoints (CRLs, CA certificates, OCSP) and the security administrator's
screens; mounted at pki/ (namespace "pki").
"""

from django.urls import path

from egov.pki import views

app_name = "pki"
urlpatterns = [
    path("crl/<slug:slug>.crl", views.crl_der, name="crl_der"),
    path("crl/<slug:slug>.pem", views.crl_pem, name="crl_pem"),
    path("ca/<slug:slug>.crt", views.ca_certificate, name="ca_certificate"),
    path("ca/<slug:slug>.pem", views.ca_certificate_pem, name="ca_certificate_pem"),
    path("ocsp", views.ocsp_post, name="ocsp"),
    path("ocsp/<path:encoded>", views.ocsp_get, name="ocsp_get"),
    path("", views.certificate_list, name="certificate_list"),
    path("expiring/", views.certificate_list, {"view": "expiring"}, name="expiring_list"),
    path("revoked/", views.certificate_list, {"view": "revoked"}, name="revoked_list"),
    path("certificates/<uuid:cert_id>/", views.certificate_detail, name="certificate_detail"),
    path(
        "certificates/<uuid:cert_id>/download.crt",
        views.certificate_download,
        name="certificate_download",
    ),
    path(
        "certificates/<uuid:cert_id>/revoke/", views.certificate_revoke, name="certificate_revoke"
    ),
    path("certificates/<uuid:cert_id>/renew/", views.certificate_renew, name="certificate_renew"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<uuid:request_id>/approve/", views.request_approve, name="request_approve"),
    path("requests/<uuid:request_id>/reject/", views.request_reject, name="request_reject"),
]
