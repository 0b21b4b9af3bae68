from django.contrib import admin

from spmis.core.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the database refuses changes to the audit log anyway."""

    list_display = ["at", "actor", "source", "action", "table_name", "row_id"]
    list_filter = ["action", "source", "table_name"]
    search_fields = ["row_id", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
