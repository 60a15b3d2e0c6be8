from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PkiConfig(AppConfig):
    name = "egov.pki"
    label = "pki"
    verbose_name = _("Provincial CA")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.pki.todos import PendingRequestsProvider

        register_todo_provider(PendingRequestsProvider())
