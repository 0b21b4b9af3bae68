from django.contrib import admin

from interop.dci.models import DCISender, DCITransaction


@admin.register(DCISender)
class DCISenderAdmin(admin.ModelAdmin):
    list_display = ("sender_id", "name", "service_user", "is_active", "consent_required", "created_at")
    search_fields = ("sender_id", "name")
    raw_id_fields = ("service_user",)


@admin.register(DCITransaction)
class DCITransactionAdmin(admin.ModelAdmin):
    """The audit of DCI requests: read only."""

    list_display = ("received_at", "sender", "action", "mode", "message_id", "status", "delivery")
    list_filter = ("action", "mode", "status", "delivery")
    search_fields = ("message_id", "transaction_id", "correlation_id")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
