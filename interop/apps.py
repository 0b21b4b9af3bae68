from django.apps import AppConfig


class InteroperabilityConfig(AppConfig):
    name = "interop"
    verbose_name = "Interoperability"
