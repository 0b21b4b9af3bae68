from django.apps import AppConfig


class GrievancesConfig(AppConfig):
    name = "grievances"
    verbose_name = "Grievances"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from grievances.defaults import ensure_categories_after_migrate

        post_migrate.connect(ensure_categories_after_migrate, sender=self, dispatch_uid="grievances.defaults")
