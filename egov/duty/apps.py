from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DutyConfig(AppConfig):
    name = "egov.duty"
    label = "duty"
    verbose_name = _("Duty and emergency reports")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.duty.todos import DutyTodoProvider

        register_todo_provider(DutyTodoProvider())
