from django.contrib import admin

from interop.crvs.models import CrvsEvent, CrvsSource, CrvsSubscription
from interop.crvs.services import crvs_service_user_create


@admin.register(CrvsSource)
class CrvsSourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "base_url", "crvs_sender_id", "active"]
    readonly_fields = ["service_user"]

    def save_model(self, request, obj, form, change):
        if not obj.service_user_id:
            obj.service_user = crvs_service_user_create(code=obj.code)
        super().save_model(request, obj, form, change)


@admin.register(CrvsSubscription)
class CrvsSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["source", "event", "status", "code", "requested_at", "answered_at"]
    list_filter = ["status", "event"]


@admin.register(CrvsEvent)
class CrvsEventAdmin(admin.ModelAdmin):
    list_display = ["source", "event", "event_id", "outcome", "occurred_on", "received_at"]
    list_filter = ["outcome", "event"]
    readonly_fields = [f.name for f in CrvsEvent._meta.fields]
