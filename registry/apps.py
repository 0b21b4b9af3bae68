from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Social registry"
    # The audit log shows the before/after values of these tables only to holders of the permission (geo reads
    # both through the app registry).
    personal_data_permission = "registry.view_personal_data"
    personal_data_tables = (
        "registry_household",
        "registry_individual",
        "registry_membership",
        "registry_phone",
        "registry_iddocument",
        "registry_changerequest",
        "registry_duplicatecandidate",
    )
