from django.apps import AppConfig


class DistributionConfig(AppConfig):
    name = "distribution"
    verbose_name = "In-kind distribution"

    def ready(self) -> None:
        from distribution import exposure
        from response import signals

        signals.exposure_computed.connect(exposure.on_exposure_computed, dispatch_uid="distribution.facilities")
        signals.situation_report_sections.connect(exposure.on_situation_report, dispatch_uid="distribution.report")
