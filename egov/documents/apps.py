from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "egov.documents"
    label = "documents"
    verbose_name = _("Official documents")

    def ready(self) -> None:
        from egov.core.todos import register_todo_provider
        from egov.documents import handlers, notifications  # noqa: F401 -- registers the kinds
        from egov.documents.todos import DocumentTodoProvider

        handlers.register()
        register_todo_provider(DocumentTodoProvider())
