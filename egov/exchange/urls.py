from django.urls import path

from egov.exchange import views

app_name = "exchange"
urlpatterns = [
    path("", views.console, name="console"),
    path("inbox", views.inbox, name="inbox"),
    path("directory", views.directory_document, name="directory"),
    path("retry-failed", views.retry_failed, name="retry_failed"),
    path("deliveries/<str:envelope_id>/retry", views.retry, name="retry"),
    path("deliveries/<str:envelope_id>/envelope.zip", views.envelope_download, name="envelope"),
]
