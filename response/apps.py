from django.apps import AppConfig


class ResponseConfig(AppConfig):
    name = "response"
    verbose_name = "Shock response"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from response.defaults import ensure_defaults_after_migrate

        post_migrate.connect(ensure_defaults_after_migrate, sender=self, dispatch_uid="response.defaults")
