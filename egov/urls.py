from django.contrib import admin
from django.urls import include, path

from egov.core.views import health

urlpatterns = [
    path("", include("egov.web.urls")),
    path("accounts/", include("egov.orgs.auth_urls")),
    path("orgs/", include("egov.orgs.urls")),
    path("core/", include("egov.core.urls")),
    path("pki/", include("egov.pki.urls")),
    path("exchange/", include("egov.exchange.urls")),
    path("documents/", include("egov.documents.urls")),
    path("supervision/", include("egov.supervision.urls")),
    path("duty/", include("egov.duty.urls")),
    path("api/v1/", include("egov.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    *health.urlpatterns,
]
