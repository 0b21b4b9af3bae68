from django.apps import AppConfig


class InteroperabilityConfig(AppConfig):
    name = "interop"
    verbose_name = "Interoperability"
    # The audit log shows the before/after values of these tables only to holders of the registry's personal-data
    # permission (geo reads both through the app registry): CRVS person records, and whose ID was checked.
    personal_data_permission = "registry.view_personal_data"
    personal_data_tables = ("interop_crvsevent", "interop_idverification")
