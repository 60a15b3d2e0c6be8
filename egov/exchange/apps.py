from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "egov.exchange"
    label = "exchange"
    verbose_name = _("Document exchange")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.exchange import notifications  # noqa: F401 -- registers the kinds
        from egov.exchange.todos import FailedDeliveriesProvider

        register_todo_provider(FailedDeliveriesProvider())
