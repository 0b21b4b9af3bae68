"""Running one search_request item for a sender, and the records it answers with.

What a sender sees is what its service user may see: only households in the user's areas (and their members), and
names, birth dates, ID documents, phones, addresses and exact locations only when the user holds the registry's
personal-data permission. Without it a record carries the registry's own ids, sizes, sex, disability and area.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Prefetch
from django.utils import timezone

from geo.selectors import scope_queryset
from interop.dci import query
from interop.dci.query import CriteriaError
from registry.models import Household, Individual, Membership
from registry.selectors import personal_data_allowed, scoped_households

SEX_NAMES = {"F": "female", "M": "male", "X": "other"}
ENTITY_CONTEXT = "https://schema.spdci.org/extensions/social/v1/"


def now_iso() -> str:
    return timezone.now().isoformat(timespec="milliseconds")


def search_item(*, user, item: Any) -> dict:
    """One search_response entry for one search_request item: succ with data and pagination, or rjct with the
    spec's reason code and words."""
    reference_id = str(item.get("reference_id") or "") if isinstance(item, dict) else ""
    entry: dict[str, Any] = {"reference_id": reference_id, "timestamp": now_iso()}
    try:
        if not isinstance(item, dict):
            raise CriteriaError("rjct.search_criteria.invalid", "Each search_request item is an object.")
        compiled = query.criteria(item.get("search_criteria"))
        personal = personal_data_allowed(user)
        if compiled.personal_attributes and not personal:
            raise CriteriaError(
                "rjct.search_criteria.invalid",
                f"Searching by {', '.join(compiled.personal_attributes)} needs the personal-data permission, which "
                "this sender does not hold.",
            )
        records, total = _run(user, compiled, personal)
    except CriteriaError as error:
        return {**entry, "status": "rjct", "status_reason_code": error.reason, "status_reason_message": error.message}
    return {
        **entry,
        "status": "succ",
        "data": {"version": "1.0.0", "reg_records": records},
        "pagination": {"page_size": compiled.page_size, "page_number": compiled.page_number, "total_count": total},
    }


def _run(user, compiled: query.Criteria, personal: bool) -> tuple[list[dict], int]:
    offset = (compiled.page_number - 1) * compiled.page_size
    households = scoped_households(user)
    if compiled.entity == "group":
        queryset = (
            scope_queryset(query.households_annotated(), user, area_field="area")
            .filter(status="active")
            .filter(compiled.condition)
            # The code only: select_related would load (and parse) each area's boundary.
            .annotate(dci_area_code=F("area__code"))
        )
        total = queryset.count()
        members = Membership.objects.filter(end_date__isnull=True, individual__status="active").select_related(
            "individual"
        )
        if personal:
            members = members.prefetch_related("individual__documents__id_type", "individual__phones")
        page = list(
            queryset.order_by(*compiled.order).prefetch_related(
                Prefetch("memberships", queryset=members.order_by("individual_id"), to_attr="dci_members")
            )[offset : offset + compiled.page_size]
        )
        return [group_record(h, personal) for h in page], total
    open_in_scope = Membership.objects.filter(end_date__isnull=True, household__in=households.filter(status="active"))
    queryset = Individual.objects.filter(status="active", pk__in=open_in_scope.values("individual_id")).filter(
        compiled.condition
    )
    total = queryset.count()
    related = ["memberships__household"]
    if personal:
        related += ["documents__id_type", "phones"]
    page = list(queryset.order_by(*compiled.order).prefetch_related(*related)[offset : offset + compiled.page_size])
    return [person_record(p, personal) for p in page], total


def _identifiers(person: Individual, personal: bool) -> list[dict]:
    ids = [{"identifier_type": "MEMBER_ID", "identifier_value": person.registrant_id}]
    if personal:
        ids += [{"identifier_type": d.id_type.code, "identifier_value": d.number} for d in person.documents.all()]
    return ids


def _demographic(person: Individual, personal: bool) -> dict:
    info: dict[str, Any] = {
        "@type": "SRPerson",
        "identifier": _identifiers(person, personal),
        "sex": SEX_NAMES.get(person.sex, "other"),
    }
    if personal:
        info["name"] = {"@type": "Name", "given_name": person.given_name, "surname": person.family_name}
        if person.birth_date:
            info["birth_date"] = person.birth_date.isoformat()
        info["phone_number"] = [p.number for p in person.phones.all()]
    return info


def member_record(membership: Membership, personal: bool) -> dict:
    person = membership.individual
    return {
        "@type": "Member",
        "member_identifier": [{"identifier_type": "MEMBER_ID", "identifier_value": person.registrant_id}],
        "demographic_info": _demographic(person, personal),
        "relationship_head": membership.role,
        "is_disabled": person.disability,
    }


def group_record(household: Household, personal: bool) -> dict:
    members = getattr(household, "dci_members", [])
    head = next((m for m in members if m.role == Membership.Role.HEAD), None)
    record: dict[str, Any] = {
        "@context": {"spdci": ENTITY_CONTEXT},
        "@type": "Group",
        "group_identifier": [{"identifier_type": "HOUSEHOLD_ID", "identifier_value": household.registrant_id}],
        "group_type": household.kind,
        "group_size": household.dci_size,
        "registration_date": household.registered_on.isoformat(),
        "last_updated": household.updated_at.isoformat(timespec="seconds"),
        "member_list": [member_record(m, personal) for m in members],
        "additional_attributes": [
            {"area_code": household.dci_area_code},
            {"members_under_5": household.dci_under5},
        ],
    }
    if head is not None:
        record["group_head_info"] = member_record(head, personal)
    if personal:
        place: dict[str, Any] = {"@type": "Place", "address": household.address}
        if household.location is not None:
            place["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": f"{household.location.y:.6f}",
                "longitude": f"{household.location.x:.6f}",
            }
        record["place"] = place
    return record


def person_record(person: Individual, personal: bool) -> dict:
    current = [m for m in person.memberships.all() if m.end_date is None]
    record: dict[str, Any] = {
        "@context": {"spdci": ENTITY_CONTEXT},
        **_demographic(person, personal),
        "is_disabled": person.disability,
        "household_identifier": current[0].household.registrant_id if current else "",
        "last_updated": person.updated_at.isoformat(timespec="seconds"),
    }
    if current:
        record["relationship_head"] = current[0].role
    return record
