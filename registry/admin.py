from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from registry.models import (
    ChangeRequest,
    CustomField,
    CustomFilter,
    DedupRun,
    DuplicateCandidate,
    Household,
    IdDocument,
    IdType,
    ImportMapping,
    Individual,
    Membership,
    Phone,
    RegistryImport,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["individual", "household"]


class PhoneInline(admin.TabularInline):
    model = Phone
    extra = 0


class IdDocumentInline(admin.TabularInline):
    model = IdDocument
    extra = 0


@admin.register(Household)
class HouseholdAdmin(LeafletGeoAdmin):
    list_display = ["registrant_id", "external_id", "kind", "area", "location_precision", "status", "registered_on"]
    list_filter = ["kind", "location_precision", "status"]
    search_fields = ["registrant_id", "external_id", "address"]
    readonly_fields = ["registrant_id", "area_approximate", "created_at", "updated_at"]
    raw_id_fields = ["area"]
    inlines = [MembershipInline]


@admin.register(Individual)
class IndividualAdmin(admin.ModelAdmin):
    list_display = ["registrant_id", "given_name", "family_name", "birth_date", "sex", "status", "disability"]
    list_filter = ["sex", "status", "disability", "is_pregnant", "is_lactating"]
    search_fields = ["registrant_id", "external_id", "given_name", "family_name"]
    readonly_fields = ["registrant_id", "disability", "merged_into", "created_at", "updated_at"]
    inlines = [MembershipInline, PhoneInline, IdDocumentInline]


@admin.register(IdType)
class IdTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "pattern"]


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ["name", "applies_to", "type", "required"]
    list_filter = ["applies_to", "type"]


@admin.register(CustomFilter)
class CustomFilterAdmin(admin.ModelAdmin):
    list_display = ["name", "applies_to", "created_by"]


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    list_display = ["source", "updated_at"]


@admin.register(RegistryImport)
class RegistryImportAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "source", "status", "progress", "created_by", "created_at"]
    readonly_fields = [f.name for f in RegistryImport._meta.fields]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    """Read-only here: approval goes through the API so the four-eyes rule and the diff are enforced."""

    list_display = ["id", "kind", "status", "submitted_by", "reviewed_by", "submitted_at"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ChangeRequest._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DedupRun)
class DedupRunAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "progress", "created_at"]
    readonly_fields = [f.name for f in DedupRun._meta.fields]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(admin.ModelAdmin):
    list_display = ["id", "first", "second", "score", "status"]
    list_filter = ["status"]
    raw_id_fields = ["first", "second"]
    readonly_fields = ["merge_result", "reviewed_by", "reviewed_at"]
