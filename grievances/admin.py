"""Categories and teams are kept here. Tickets are read here only: they change through the services (pages, API),
which write their history; personal contact stays out of the admin list."""

from django.contrib import admin

from grievances.models import Category, Team, Ticket


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "parent", "default_severity", "ack_sla_hours", "resolve_sla_hours", "sensitive"]
    list_filter = ["sensitive", "active"]
    search_fields = ["code", "name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "handles_sensitive"]
    filter_horizontal = ["areas", "members"]
    search_fields = ["name"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["reference", "channel", "category", "status", "area", "team", "created_at", "escalated_at"]
    list_filter = ["status", "channel", "sensitive"]
    search_fields = ["reference"]

    def get_queryset(self, request):
        from grievances.selectors import ticket_list

        return ticket_list(user=request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
