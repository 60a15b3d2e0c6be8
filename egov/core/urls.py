"""Core pages, each module contributing its own patterns under the `core` namespace."""

from egov.core.views import audit, calendar, notifications

app_name = "core"
urlpatterns = [*audit.urlpatterns, *calendar.urlpatterns, *notifications.urlpatterns]
