from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = "Areas and spatial foundation"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from geo import audit, roles

        audit.connect_task_signals()
        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="geo.roles.sync")
