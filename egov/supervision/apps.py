from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "egov.supervision"
    label = "supervision"
    verbose_name = _("Supervision")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.supervision import notifications  # noqa: F401 -- registers the kinds
        from egov.supervision.todos import SupervisionTodoProvider

        register_todo_provider(SupervisionTodoProvider())
