from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "egov.orgs"
    label = "orgs"
    verbose_name = _("Organisations and users")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.orgs.todos import LockedAccountsProvider

        register_todo_provider(LockedAccountsProvider())
