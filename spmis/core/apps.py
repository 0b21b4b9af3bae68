from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "spmis.core"
    label = "core"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from spmis.core import audit, roles

        audit.connect_task_signals()
        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="spmis.core.roles.sync")
