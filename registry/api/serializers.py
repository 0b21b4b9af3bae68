from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from registry.models import (
    ChangeRequest,
    CustomField,
    CustomFilter,
    DedupRun,
    DuplicateCandidate,
    Household,
    IdType,
    ImportMapping,
    Individual,
    Membership,
    RegistryImport,
)
from spmis.api.serializers import JOB_FIELDS, JSONObjectField, RedactedPathsMixin, StrictFieldsMixin, UploadField
from spmis.country import country

INDIVIDUAL_FIELDS = [
    "id",
    "registrant_id",
    "external_id",
    "given_name",
    "family_name",
    "other_names",
    "birth_date",
    "birth_date_estimated",
    "sex",
    "disability",
    "wg_seeing",
    "wg_hearing",
    "wg_walking",
    "wg_cognition",
    "wg_self_care",
    "wg_communication",
    "is_pregnant",
    "is_lactating",
    "status",
    "status_date",
    "merged_into",
    "custom",
]


class IndividualSerializer(serializers.ModelSerializer):
    phones = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()
    households = serializers.SerializerMethodField()
    name_score = serializers.SerializerMethodField(help_text="Name similarity 0–1 when searching by name (q)")

    class Meta:
        model = Individual
        fields = [*INDIVIDUAL_FIELDS, "phones", "documents", "households", "name_score"]
        read_only_fields = fields

    def get_name_score(self, person) -> float | None:
        return getattr(person, "name_score", None)

    def get_phones(self, person) -> list[str]:
        return [p.number for p in person.phones.all()]

    def get_documents(self, person) -> list[dict]:
        return [{"id_type": d.id_type.code, "number": d.number} for d in person.documents.all()]

    def get_households(self, person) -> list[dict]:
        memberships = getattr(person, "open_memberships", None)
        if memberships is None:
            memberships = person.memberships.filter(end_date__isnull=True)
        return [{"household": m.household_id, "role": m.role, "since": m.start_date} for m in memberships]


class MemberSerializer(serializers.ModelSerializer):
    registrant_id = serializers.CharField(source="individual.registrant_id")
    given_name = serializers.CharField(source="individual.given_name")
    family_name = serializers.CharField(source="individual.family_name")
    birth_date = serializers.DateField(source="individual.birth_date")
    sex = serializers.CharField(source="individual.sex")

    class Meta:
        model = Membership
        fields = ["individual", "registrant_id", "given_name", "family_name", "birth_date", "sex", "role", "start_date"]
        read_only_fields = fields


class HouseholdSerializer(GeoFeatureModelSerializer):
    size = serializers.IntegerField(read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True, allow_null=True, default=None)
    members = serializers.SerializerMethodField()

    class Meta:
        model = Household
        geo_field = "location"
        fields = [
            "id",
            "registrant_id",
            "external_id",
            "kind",
            "location_precision",
            "area",
            "area_code",
            "area_approximate",
            "address",
            "registered_on",
            "source",
            "status",
            "custom",
            "size",
            "members",
        ]
        read_only_fields = fields

    def get_members(self, household) -> list[dict]:
        memberships = getattr(household, "open_memberships", None)
        if memberships is None:
            memberships = household.memberships.filter(end_date__isnull=True).select_related("individual")
        return MemberSerializer(memberships, many=True).data


class HouseholdReducedSerializer(GeoFeatureModelSerializer):
    """A household for roles without registry.view_personal_data: no geometry (its place is generalised to its
    area), no external id, address, custom fields or members, only how many they are."""

    size = serializers.IntegerField(read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True, default=None)

    class Meta:
        model = Household
        geo_field = None
        fields = ["id", "registrant_id", "kind", "area", "area_code", "registered_on", "status", "size"]
        read_only_fields = fields


class IndividualReducedSerializer(serializers.ModelSerializer):
    """An individual for roles without registry.view_personal_data: the registrant id, status and current
    households only (no names, birth date, sex, health, phones or documents)."""

    households = serializers.SerializerMethodField()

    class Meta:
        model = Individual
        fields = ["id", "registrant_id", "status", "households"]
        read_only_fields = fields

    def get_households(self, person) -> list[dict]:
        return IndividualSerializer.get_households(self, person)


class HouseholdCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    external_id = serializers.CharField(required=False, allow_null=True, max_length=64)
    kind = serializers.CharField(required=False, default="household", max_length=32)
    longitude = serializers.FloatField(required=False, allow_null=True)
    latitude = serializers.FloatField(required=False, allow_null=True)
    area_code = serializers.CharField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, default="")
    custom = serializers.DictField(required=False, default=dict)


class DocumentInputSerializer(serializers.Serializer):
    id_type = serializers.CharField()
    number = serializers.CharField()


class IndividualCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    household = serializers.IntegerField()
    role = serializers.CharField()
    external_id = serializers.CharField(required=False, max_length=64)
    given_name = serializers.CharField(max_length=120)
    family_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    other_names = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    birth_date_estimated = serializers.BooleanField(required=False, default=False)
    sex = serializers.ChoiceField(choices=Individual.Sex.choices, default=Individual.Sex.OTHER)
    is_pregnant = serializers.BooleanField(required=False)
    is_lactating = serializers.BooleanField(required=False)
    wg_seeing = serializers.IntegerField(required=False, min_value=1, max_value=4)
    wg_hearing = serializers.IntegerField(required=False, min_value=1, max_value=4)
    wg_walking = serializers.IntegerField(required=False, min_value=1, max_value=4)
    wg_cognition = serializers.IntegerField(required=False, min_value=1, max_value=4)
    wg_self_care = serializers.IntegerField(required=False, min_value=1, max_value=4)
    wg_communication = serializers.IntegerField(required=False, min_value=1, max_value=4)
    phones = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    documents = DocumentInputSerializer(many=True, required=False, default=list)
    custom = serializers.DictField(required=False, default=dict)


class ChangeRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "kind",
            "household",
            "individual",
            "payload",
            "status",
            "reason",
            "diff",
            "submitted_by",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
        ]
        read_only_fields = fields


class ChangeRequestReducedSerializer(ChangeRequestSerializer):
    """A change request without its payload and diff (new phones, birth dates, places), for roles without
    registry.view_personal_data."""

    class Meta(ChangeRequestSerializer.Meta):
        fields = [f for f in ChangeRequestSerializer.Meta.fields if f not in ("payload", "diff")]
        read_only_fields = fields


class ChangeRequestCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChangeRequest.Kind.choices)
    household = serializers.IntegerField(required=False, allow_null=True)
    individual = serializers.IntegerField(required=False, allow_null=True)
    payload = serializers.DictField(required=False, default=dict)


class RejectSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField()


class RegistryImportSerializer(RedactedPathsMixin, serializers.ModelSerializer):
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = RegistryImport
        fields = ["id", "original_name", "source", "report_url", *JOB_FIELDS]
        read_only_fields = fields

    def get_report_url(self, job) -> str | None:
        return f"/api/v1/registry/imports/{job.pk}/report/" if job.report else None


class RegistryImportReducedSerializer(RegistryImportSerializer):
    """An import job without the sample of rejected rows (their values: names, phones, ID numbers), for roles
    without registry.view_personal_data."""

    def to_representation(self, job):
        data = super().to_representation(job)
        if isinstance(data.get("result"), dict):
            data["result"] = {key: value for key, value in data["result"].items() if key != "errors_sample"}
        return data


class RegistryImportCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    file = UploadField()
    source = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    mapping = JSONObjectField(required=False, allow_null=True, default=None, text_values=True)
    phone_region = serializers.CharField(required=False, default=lambda: country().phone_region)
    sheet = serializers.CharField(required=False, allow_null=True, default=None)


class ImportMappingSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    columns = JSONObjectField(text_values=True, help_text="{target field: column name in the file}")

    class Meta:
        model = ImportMapping
        fields = ["id", "source", "columns", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class IdTypeSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = IdType
        fields = ["id", "code", "name", "pattern"]


class CustomFieldSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = ["id", "name", "label", "type", "choices", "required", "applies_to"]


class CustomFilterSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomFilter
        fields = ["id", "name", "applies_to", "conditions", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]
        extra_kwargs = {"conditions": {"required": True}}


class DuplicateCandidateSerializer(serializers.ModelSerializer):
    first_registrant_id = serializers.CharField(source="first.registrant_id", read_only=True)
    second_registrant_id = serializers.CharField(source="second.registrant_id", read_only=True)

    class Meta:
        model = DuplicateCandidate
        fields = [
            "id",
            "first",
            "second",
            "first_registrant_id",
            "second_registrant_id",
            "reasons",
            "name_score",
            "distance_m",
            "score",
            "status",
            "reviewed_by",
            "reviewed_at",
            "merge_result",
        ]
        read_only_fields = fields


class DuplicateCandidateReducedSerializer(DuplicateCandidateSerializer):
    """A candidate pair without the merge's record (the ID documents and phones it moved)."""

    class Meta(DuplicateCandidateSerializer.Meta):
        fields = [f for f in DuplicateCandidateSerializer.Meta.fields if f != "merge_result"]
        read_only_fields = fields


class DedupRunSerializer(RedactedPathsMixin, serializers.ModelSerializer):
    class Meta:
        model = DedupRun
        fields = ["id", *JOB_FIELDS]
        read_only_fields = fields


class DedupRunCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    name_threshold = serializers.FloatField(required=False, default=0.85, min_value=0, max_value=1)
    distance_m = serializers.FloatField(required=False, default=2000, min_value=0)
