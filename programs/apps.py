from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = "Programs and payments"

    def ready(self) -> None:
        from programs import receivers  # noqa: F401  (connects the signal receivers)
