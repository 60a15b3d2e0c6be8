from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "egov.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from egov.core.calendar_todos import CalendarYearProvider
        from egov.core.todos import register_todo_provider

        register_todo_provider(CalendarYearProvider())
