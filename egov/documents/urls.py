from django.urls import path

from egov.documents import report_views, views

app_name = "documents"
urlpatterns = [
    path("stats/", report_views.stats, name="stats"),
    path("out/", views.outgoing_list, name="outgoing_list"),
    path("out/new/", views.draft_create, name="draft_create"),
    path("out/<str:doc_id>/", views.outgoing_detail, name="outgoing_detail"),
    path("out/<str:doc_id>/edit/", views.draft_edit, name="draft_edit"),
    path("out/<str:doc_id>/pdf/<str:which>/", views.outgoing_pdf, name="outgoing_pdf"),
    path("out/<str:doc_id>/form.pdf", report_views.outgoing_form_pdf, name="outgoing_form_pdf"),
    path("out/<str:doc_id>/act/<str:action>/", views.outgoing_action, name="outgoing_action"),
    path("in/", views.incoming_list, name="incoming_list"),
    path("in/<str:doc_id>/", views.incoming_detail, name="incoming_detail"),
    path("in/<str:doc_id>/pdf/", views.incoming_pdf, name="incoming_pdf"),
    path("in/<str:doc_id>/form.pdf", report_views.incoming_form_pdf, name="incoming_form_pdf"),
    path("in/<str:doc_id>/act/<str:action>/", views.incoming_action, name="incoming_action"),
    path(
        "<str:flow>/<str:doc_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
]
