from django.urls import path

from egov.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<str:task_id>/", views.task_detail, name="task_detail"),
    path("tasks/<str:task_id>/approve/", views.task_approve, name="task_approve"),
    path("tasks/<str:task_id>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<str:task_id>/acknowledge/", views.task_acknowledge, name="task_acknowledge"),
    path("tasks/<str:task_id>/return/", views.task_return, name="task_return"),
    path("tasks/<str:task_id>/report/", views.task_report, name="task_report"),
    path("tasks/<str:task_id>/apply-close/", views.task_apply_close, name="task_apply_close"),
    path("tasks/<str:task_id>/review/", views.task_review, name="task_review"),
    path("tasks/<str:task_id>/archive/", views.task_archive, name="task_archive"),
    path("tasks/<str:task_id>/urge/", views.task_urge, name="task_urge"),
    path("tasks/<str:task_id>/extension/", views.task_extension, name="task_extension"),
    path("tasks/<str:task_id>/extension/decide/", views.extension_decide, name="extension_decide"),
    path(
        "tasks/<str:task_id>/attachments/<str:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path("rankings/", views.rankings, name="rankings"),
    path("export/monthly.xlsx", views.export_monthly, name="export_monthly"),
    path("export/monthly.pdf", views.export_monthly_pdf, name="export_monthly_pdf"),
]
