"""Writes for the registry: import jobs, custom fields, change requests, duplicate review and merges."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from dataclasses import asdict

import phonenumbers
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from geo.models import Area
from geo.selectors import area_in_scope, user_area_ids
from registry.custom import custom_values_validate, filter_conditions_validate
from registry.importing import ImportOptions, registry_import_file
from registry.models import (
    WG_DOMAINS,
    ChangeRequest,
    CustomFilter,
    DuplicateCandidate,
    Household,
    IdDocument,
    IdType,
    ImportMapping,
    Individual,
    Membership,
    Phone,
    RegistryImport,
    Status,
)
from registry.signals import individual_deceased
from spmis.core.audit import audit_context
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit
from spmis.country import country


def import_mapping_save(*, source: str, columns: dict[str, str]) -> ImportMapping:
    """Save (create or replace) the column mapping used for files from `source`."""
    ImportOptions(source=source, mapping=columns).validate()
    if not source:
        raise ValidationError({"source": "Name the source the mapping is for."})
    mapping, _ = ImportMapping.objects.update_or_create(source=source, defaults={"columns": columns})
    return mapping


def registry_import_start(
    *, file, original_name: str, source: str = "", mapping: dict[str, str] | None = None, user, **options
) -> RegistryImport:
    """Record an import job and queue it after commit. Without an explicit mapping, the mapping saved for the
    source is used; an explicit one is saved for next time."""
    if mapping:
        if source:
            import_mapping_save(source=source, columns=mapping)
    else:
        saved = ImportMapping.objects.filter(source=source).first() if source else None
        mapping = saved.columns if saved else {}
    parameters = {"source": source, "mapping": mapping, **options}
    ImportOptions(**parameters).validate()
    with transaction.atomic(durable=True):
        job = RegistryImport.objects.create(
            file=file, original_name=original_name, source=source, parameters=parameters, created_by=user
        )
        enqueue_on_commit("registry.import", job.pk)
    return job


IMPORT_CHANGES_PERMISSION = "registry.import_changes"


def registry_import_run(*, import_id: int) -> RegistryImport:
    """Run a queued import as the user who started it (rows outside their areas are rejected); the job row records
    progress, the result, the rejected-rows report or the error. The uploaded file, which holds personal data, is
    deleted afterwards whatever the outcome."""

    def work(job: RegistryImport, progress) -> JobOutcome:
        user = job.created_by
        # A job without a creator was queued by the system (a command or a test), which is national.
        area_ids = user_area_ids(user) if user is not None else None
        # Moves and phone changes of existing people need a second user (change requests) unless the uploader may
        # import them (registry.import_changes: administrators).
        four_eyes = user is not None and not user.has_perm(IMPORT_CHANGES_PERMISSION)
        with tempfile.TemporaryFile() as report, audit_context(actor=_actor(job), source="import"):
            result = registry_import_file(
                path=job.file.path,
                options=ImportOptions(**job.parameters),
                report=report,
                progress=progress,
                area_ids=area_ids,
                four_eyes=four_eyes,
            )
            if result.rejected_rows:
                report.seek(0)
                # Copied to storage in chunks: a report of many rejected rows is never read whole into memory.
                job.report.save(f"rejected-rows-{job.pk}.csv", File(report), save=False)
        return JobOutcome(
            result=asdict(result),
            message=f"{result.valid_rows} rows imported, {result.rejected_rows} rejected",
            fields={"report": job.report.name or ""},
        )

    return run_job(RegistryImport, import_id, work, error_field="file", cleanup=_upload_delete)


def _upload_delete(job: RegistryImport) -> dict:
    """The upload holds personal data: it goes after the job whatever the outcome (run_job's cleanup)."""
    if job.file:
        job.file.storage.delete(job.file.name)
    return {"file": ""}


def _actor(job) -> str:
    return job.created_by.get_username() if job.created_by else "system"


# ---------------------------------------------------------------------------------------------------------------
# Households and individuals.


def _point(payload: dict, *, field: str = "location") -> Point | None:
    lon, lat = payload.get("longitude"), payload.get("latitude")
    if lon is None and lat is None:
        return None
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError({field: "Give longitude and latitude as numbers."}) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({field: "Longitude must be within -180..180 and latitude within -90..90."})
    return Point(lon, lat, srid=4326)


def _area_by_code(code: str | None) -> Area | None:
    if not code:
        return None
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise ValidationError({"area_code": f"No area with code {code!r}."})
    return area


def phone_normalise(*, raw: str, region: str | None = None, field: str = "phone") -> str:
    """E.164 form of a phone number, or ValidationError naming `field`. Numbers written without a country code
    are read for `region`, by default the configured country's (settings.SPMIS_COUNTRY)."""
    try:
        number = phonenumbers.parse(str(raw), region or country().phone_region)
    except phonenumbers.NumberParseException:
        raise ValidationError({field: f"Not a phone number: {raw!r}."}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({field: f"Not a valid phone number: {raw!r}."})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def id_document_clean(*, id_type: str, number: str, individual: Individual | None = None) -> tuple[IdType, str]:
    kind = IdType.objects.filter(code=id_type).first()
    if kind is None:
        raise ValidationError({"documents": f"Unknown ID type {id_type!r}."})
    number = str(number).strip()
    if kind.pattern and not re.fullmatch(kind.pattern, number):
        raise ValidationError({"documents": f"{number!r} does not match the format of {kind.name}."})
    holder = IdDocument.objects.filter(id_type=kind, number=number).exclude(individual=individual).first()
    if holder is not None:
        raise ValidationError({"documents": f"{kind.name} {number} is already held by another registrant."})
    return kind, number


@transaction.atomic(durable=True)
def household_create(
    *,
    user,
    external_id: str | None = None,
    longitude: float | None = None,
    latitude: float | None = None,
    area_code: str | None = None,
    address: str = "",
    kind: str = "household",
    source: str = "api",
    custom: dict | None = None,
) -> Household:
    """Register a household located by a point (area assigned by the database) or, failing that, by an area."""
    location = _point({"longitude": longitude, "latitude": latitude})
    area = _area_by_code(area_code)
    if location is None and area is None:
        raise ValidationError({"location": "Give longitude and latitude, or an area_code."})
    household = Household(
        external_id=external_id or None,
        kind=kind,
        location=location,
        location_precision=Household.Precision.GPS if location else Household.Precision.AREA,
        area=None if location else area,
        address=address,
        source=source,
        custom=custom_values_validate(applies_to="household", values=custom or {}),
    )
    household.save()
    household.refresh_from_db(fields=["area", "registrant_id"])
    if not area_in_scope(user, household.area_id):
        raise PermissionDenied("The household lies outside your areas.")
    return household


@transaction.atomic(durable=True)
def individual_create(
    *,
    user,
    household_id: int,
    role: str,
    given_name: str,
    family_name: str = "",
    other_names: str = "",
    birth_date: dt.date | None = None,
    birth_date_estimated: bool = False,
    sex: str = Individual.Sex.OTHER,
    phones: list[str] | None = None,
    documents: list[dict] | None = None,
    custom: dict | None = None,
    phone_region: str | None = None,
    **flags,
) -> Individual:
    """Register a person as a member of a household, with phones (E.164) and ID documents (checked per type)."""
    household = Household.objects.filter(pk=household_id).first()
    if household is None or not area_in_scope(user, household.area_id):
        raise ValidationError({"household": "No such household in your areas."})
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})
    allowed = {"is_pregnant", "is_lactating", "status", "external_id", *(f"wg_{d}" for d in WG_DOMAINS)}
    unknown = set(flags) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    person = Individual(
        given_name=given_name,
        family_name=family_name,
        other_names=other_names,
        birth_date=birth_date,
        birth_date_estimated=birth_date_estimated,
        sex=sex,
        custom=custom_values_validate(applies_to="individual", values=custom or {}),
        **flags,
    )
    person.full_clean(exclude=["registrant_id", "merged_into"])
    person.save()
    Membership.objects.create(household=household, individual=person, role=role)
    for index, raw in enumerate(phones or []):
        Phone.objects.create(
            individual=person, number=phone_normalise(raw=raw, region=phone_region), is_primary=index == 0
        )
    for document in documents or []:
        kind, number = id_document_clean(id_type=document.get("id_type"), number=document.get("number", ""))
        IdDocument.objects.create(individual=person, id_type=kind, number=number)
    person.refresh_from_db()
    return person


# ---------------------------------------------------------------------------------------------------------------
# Change requests: submitted, validated, approved by a second user, applied in one transaction with the diff.


def _change_validate(*, user, kind: str, household: Household | None, individual: Individual | None, payload: dict):
    K = ChangeRequest.Kind
    if kind not in K.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(K.values)}."})
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "Expected an object."})
    needs_household = kind in (K.LOCATION, K.MOVE, K.ADD_MEMBER, K.REMOVE_MEMBER, K.BIRTH)
    needs_individual = kind in (K.PHONE, K.BIRTH_DATE, K.ADD_MEMBER, K.REMOVE_MEMBER, K.DEATH)
    if needs_household and household is None:
        raise ValidationError({"household": "This kind of change needs a household."})
    if needs_individual and individual is None:
        raise ValidationError({"individual": "This kind of change needs an individual."})
    if household is not None and not area_in_scope(user, household.area_id):
        raise ValidationError({"household": "No such household in your areas."})
    if kind == K.DEATH and household is None and not _individual_in_scope(user, individual):
        raise ValidationError({"individual": "No such individual in your areas."})
    cleaned: dict = {}
    if kind in (K.LOCATION, K.MOVE):
        point = _point(payload)
        area = _area_by_code(payload.get("area_code"))
        if point is None and area is None:
            raise ValidationError({"payload": "Give longitude and latitude, or an area_code."})
        cleaned = {"longitude": point.x, "latitude": point.y} if point else {"area_code": area.code}
        if kind == K.MOVE:
            cleaned["address"] = str(payload.get("address", ""))
    elif kind == K.PHONE:
        cleaned = {"phone": phone_normalise(raw=payload.get("phone", ""), region=payload.get("region"))}
    elif kind == K.BIRTH_DATE:
        try:
            birth_date = dt.date.fromisoformat(str(payload.get("birth_date")))
        except ValueError:
            raise ValidationError({"birth_date": "Expected a date YYYY-MM-DD."}) from None
        if birth_date > timezone.localdate():
            raise ValidationError({"birth_date": "The birth date is in the future."})
        cleaned = {"birth_date": birth_date.isoformat(), "estimated": bool(payload.get("estimated", False))}
    elif kind == K.ADD_MEMBER:
        role = payload.get("role", Membership.Role.OTHER_RELATIVE)
        if role not in Membership.Role.values:
            raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})
        if Membership.objects.filter(household=household, individual=individual, end_date__isnull=True).exists():
            raise ValidationError({"individual": "Already a member of this household."})
        cleaned = {"role": role}
    elif kind == K.REMOVE_MEMBER:
        if not Membership.objects.filter(household=household, individual=individual, end_date__isnull=True).exists():
            raise ValidationError({"individual": "Not a current member of this household."})
        status = payload.get("status")
        if status and status not in Status.values:
            raise ValidationError({"status": f"Choose one of {', '.join(Status.values)}."})
        cleaned = {"status": status} if status else {}
    elif kind == K.DEATH:
        cleaned = _death_clean(individual=individual, payload=payload)
    elif kind == K.BIRTH:
        cleaned = _birth_clean(payload=payload)
    return cleaned


def _individual_in_scope(user, individual: Individual) -> bool:
    """Whether one of the households the individual belongs (or belonged) to lies in the user's areas."""
    if user_area_ids(user) is None:
        return True
    area_ids = Household.objects.filter(memberships__individual=individual).values_list("area_id", flat=True)
    return any(area_in_scope(user, area_id) for area_id in set(area_ids))


def _date_field(payload: dict, field: str) -> dt.date:
    try:
        value = dt.date.fromisoformat(str(payload.get(field))[:10])
    except ValueError:
        raise ValidationError({field: "Expected a date YYYY-MM-DD."}) from None
    if value > timezone.localdate():
        raise ValidationError({field: f"The {field.replace('_', ' ')} is in the future."})
    return value


def _reference(payload: dict) -> str:
    reference = str(payload.get("reference") or "").strip()
    if len(reference) > 120:
        raise ValidationError({"reference": "At most 120 characters."})
    return reference


def _death_clean(*, individual: Individual, payload: dict) -> dict:
    death_date = _date_field(payload, "death_date")
    if individual.birth_date and death_date < individual.birth_date:
        raise ValidationError({"death_date": "The date of death is before the birth date."})
    if individual.status == Status.DECEASED:
        raise ValidationError({"individual": "Already recorded as deceased."})
    return {"death_date": death_date.isoformat(), "reference": _reference(payload)}


def _birth_clean(*, payload: dict) -> dict:
    given_name = str(payload.get("given_name") or "").strip()
    if not given_name or len(given_name) > 120:
        raise ValidationError({"given_name": "Give the child's given name (at most 120 characters)."})
    family_name = str(payload.get("family_name") or "").strip()
    if len(family_name) > 120:
        raise ValidationError({"family_name": "At most 120 characters."})
    sex = payload.get("sex") or Individual.Sex.OTHER
    if sex not in Individual.Sex.values:
        raise ValidationError({"sex": f"Choose one of {', '.join(Individual.Sex.values)}."})
    role = payload.get("role") or Membership.Role.CHILD
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})
    documents = payload.get("documents") or []
    if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
        raise ValidationError({"documents": "Expected a list of {id_type, number}."})
    cleaned_documents = []
    for document in documents:
        kind, number = id_document_clean(id_type=document.get("id_type"), number=document.get("number", ""))
        cleaned_documents.append({"id_type": kind.code, "number": number})
    return {
        "given_name": given_name,
        "family_name": family_name,
        "sex": sex,
        "birth_date": _date_field(payload, "birth_date").isoformat(),
        "role": role,
        "documents": cleaned_documents,
        "reference": _reference(payload),
    }


@transaction.atomic(durable=True)
def change_request_submit(
    *, user, kind: str, household_id: int | None = None, individual_id: int | None = None, payload: dict
) -> ChangeRequest:
    return change_request_file(
        user=user, kind=kind, household_id=household_id, individual_id=individual_id, payload=payload
    )


@transaction.atomic
def change_request_file(
    *, user, kind: str, household_id: int | None = None, individual_id: int | None = None, payload: dict
) -> ChangeRequest:
    """change_request_submit in the caller's transaction: for a use case that files the request together with its
    own rows (a CRVS event and the request it proposes commit or fail together)."""
    household = Household.objects.filter(pk=household_id).first() if household_id else None
    individual = Individual.objects.filter(pk=individual_id).first() if individual_id else None
    if household_id and household is None:
        raise ValidationError({"household": "No such household."})
    if individual_id and individual is None:
        raise ValidationError({"individual": "No such individual."})
    cleaned = _change_validate(user=user, kind=kind, household=household, individual=individual, payload=payload)
    return ChangeRequest.objects.create(
        kind=kind, household=household, individual=individual, payload=cleaned, submitted_by=user
    )


def _review_target(*, user, request_id: int) -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().filter(pk=request_id).first()
    if change is None:
        raise ValidationError({"id": "No such change request."})
    if change.status != ChangeRequest.Status.PENDING:
        raise ValidationError({"status": f"The change request is already {change.status}."})
    if change.submitted_by_id == user.pk:
        raise PermissionDenied("A change request must be reviewed by a second user, not the one who submitted it.")
    return change


def _household_snapshot(household: Household) -> dict:
    household.refresh_from_db()
    return {
        "location": household.location.wkt if household.location else None,
        "location_precision": household.location_precision,
        "area_id": household.area_id,
        "address": household.address,
    }


@transaction.atomic(durable=True)
def change_request_approve(*, user, request_id: int) -> ChangeRequest:
    """Approve and apply a change in one transaction (never by its submitter); the diff is stored on the request."""
    change = _review_target(user=user, request_id=request_id)
    K = ChangeRequest.Kind
    payload = change.payload
    household, individual = change.household, change.individual
    _change_validate(user=user, kind=change.kind, household=household, individual=individual, payload=payload)
    diff: dict = {}
    if change.kind in (K.LOCATION, K.MOVE):
        before = _household_snapshot(household)
        point = _point(payload)
        household.location = point
        household.location_precision = Household.Precision.GPS if point else Household.Precision.AREA
        if point is None:
            household.area = _area_by_code(payload["area_code"])
        if change.kind == K.MOVE:
            household.address = payload.get("address", household.address)
        household.save()  # the database trigger re-assigns the area from the new point
        after = _household_snapshot(household)
        diff = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    elif change.kind == K.PHONE:
        existing = list(individual.phones.values_list("number", flat=True))
        individual.phones.update(is_primary=False)
        Phone.objects.update_or_create(individual=individual, number=payload["phone"], defaults={"is_primary": True})
        diff = {"phones": [existing, [*existing, payload["phone"]] if payload["phone"] not in existing else existing]}
    elif change.kind == K.BIRTH_DATE:
        diff = {
            "birth_date": [individual.birth_date.isoformat() if individual.birth_date else None, payload["birth_date"]],
            "birth_date_estimated": [individual.birth_date_estimated, payload["estimated"]],
        }
        individual.birth_date = dt.date.fromisoformat(payload["birth_date"])
        individual.birth_date_estimated = payload["estimated"]
        individual.save(update_fields=["birth_date", "birth_date_estimated", "updated_at"])
    elif change.kind == K.ADD_MEMBER:
        closed = list(
            Membership.objects.filter(individual=individual, end_date__isnull=True).values_list(
                "household_id", flat=True
            )
        )
        today = timezone.localdate()
        Membership.objects.filter(individual=individual, end_date__isnull=True).update(end_date=today)
        Membership.objects.create(household=household, individual=individual, role=payload["role"], start_date=today)
        diff = {"left_households": closed, "joined_household": household.pk, "role": payload["role"]}
    elif change.kind == K.REMOVE_MEMBER:
        today = timezone.localdate()
        Membership.objects.filter(household=household, individual=individual, end_date__isnull=True).update(
            end_date=today
        )
        diff = {"left_household": household.pk}
        if payload.get("status"):
            diff["status"] = [individual.status, payload["status"]]
            individual.status, individual.status_date = payload["status"], today
            individual.save(update_fields=["status", "status_date", "updated_at"])
    elif change.kind == K.DEATH:
        death_date = dt.date.fromisoformat(payload["death_date"])
        diff = {
            "status": [individual.status, Status.DECEASED],
            "status_date": [individual.status_date.isoformat() if individual.status_date else None, str(death_date)],
        }
        individual.status, individual.status_date = Status.DECEASED, death_date
        individual.save(update_fields=["status", "status_date", "updated_at"])
        # Programs pause what this person received (programs.receivers); their report joins the diff.
        for _receiver, answer in individual_deceased.send(
            sender=Individual, individual=individual, death_date=death_date, change=change
        ):
            if answer:
                diff.update(answer)
    elif change.kind == K.BIRTH:
        person = Individual(
            given_name=payload["given_name"],
            family_name=payload["family_name"],
            sex=payload["sex"],
            birth_date=dt.date.fromisoformat(payload["birth_date"]),
        )
        person.save()
        Membership.objects.create(
            household=household, individual=person, role=payload["role"], start_date=person.birth_date
        )
        for document in payload["documents"]:
            IdDocument.objects.create(
                individual=person, id_type=IdType.objects.get(code=document["id_type"]), number=document["number"]
            )
        person.refresh_from_db(fields=["registrant_id"])
        change.individual = person
        diff = {"individual": [None, person.pk], "registrant_id": person.registrant_id, "role": payload["role"]}
    change.status = ChangeRequest.Status.APPLIED
    change.diff = diff
    change.reviewed_by = user
    change.reviewed_at = timezone.now()
    change.save()
    return change


@transaction.atomic(durable=True)
def change_request_reject(*, user, request_id: int, reason: str) -> ChangeRequest:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the change is rejected."})
    change = _review_target(user=user, request_id=request_id)
    change.status = ChangeRequest.Status.REJECTED
    change.reason = reason.strip()
    change.reviewed_by = user
    change.reviewed_at = timezone.now()
    change.save()
    return change


# ---------------------------------------------------------------------------------------------------------------
# Custom filters and duplicate review.


def custom_filter_save(*, user, name: str, applies_to: str, conditions: list) -> CustomFilter:
    filter_conditions_validate(applies_to=applies_to, conditions=conditions)
    saved, _ = CustomFilter.objects.update_or_create(
        name=name, defaults={"applies_to": applies_to, "conditions": conditions, "created_by": user}
    )
    return saved


def _candidate_for_review(*, user, candidate_id: int) -> DuplicateCandidate:
    candidate = DuplicateCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None:
        raise ValidationError({"id": "No such duplicate candidate."})
    if candidate.status in (DuplicateCandidate.Status.MERGED, DuplicateCandidate.Status.DISMISSED):
        raise ValidationError({"status": f"The pair is already {candidate.status}."})
    return candidate


@transaction.atomic(durable=True)
def duplicate_review(*, user, candidate_id: int, decision: str) -> DuplicateCandidate:
    """Confirm (same person: ready to merge) or dismiss (different people) a candidate pair."""
    if decision not in ("confirm", "dismiss"):
        raise ValidationError({"decision": "Choose confirm or dismiss."})
    candidate = _candidate_for_review(user=user, candidate_id=candidate_id)
    candidate.status = (
        DuplicateCandidate.Status.CONFIRMED if decision == "confirm" else DuplicateCandidate.Status.DISMISSED
    )
    candidate.reviewed_by, candidate.reviewed_at = user, timezone.now()
    candidate.save()
    return candidate


MERGE_FILLABLE = ("family_name", "other_names", "birth_date", *(f"wg_{d}" for d in WG_DOMAINS))


@transaction.atomic(durable=True)
def duplicate_merge(*, user, candidate_id: int) -> DuplicateCandidate:
    """Merge a confirmed pair into the older record: phones and ID documents move to it, blanks are filled from
    the duplicate, the duplicate's memberships end and it is marked inactive with `merged_into`, so its registrant
    and external IDs still lead to the survivor. What was moved and filled is kept on the candidate."""
    candidate = _candidate_for_review(user=user, candidate_id=candidate_id)
    if candidate.status != DuplicateCandidate.Status.CONFIRMED:
        raise ValidationError({"status": "Confirm the pair before merging it."})
    survivor = Individual.objects.select_for_update().get(pk=candidate.first_id)
    duplicate = Individual.objects.select_for_update().get(pk=candidate.second_id)
    if duplicate.merged_into_id or survivor.merged_into_id:
        raise ValidationError({"status": "One of the pair has already been merged."})
    filled = {}
    for name in MERGE_FILLABLE:
        if getattr(survivor, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            filled[name] = str(getattr(duplicate, name))
            setattr(survivor, name, getattr(duplicate, name))
    survivor.custom = {**duplicate.custom, **survivor.custom}
    survivor.save()
    own_numbers = set(survivor.phones.values_list("number", flat=True))
    moved_phones = [p for p in duplicate.phones.values_list("number", flat=True) if p not in own_numbers]
    duplicate.phones.filter(number__in=moved_phones).update(individual=survivor, is_primary=False)
    moved_documents = [f"{t}:{n}" for t, n in duplicate.documents.values_list("id_type__code", "number")]
    duplicate.documents.update(individual=survivor)
    today = timezone.localdate()
    open_memberships = list(duplicate.memberships.filter(end_date__isnull=True).values("household_id", "role"))
    duplicate.memberships.filter(end_date__isnull=True).update(end_date=today)
    if not survivor.memberships.filter(end_date__isnull=True).exists() and open_memberships:
        Membership.objects.create(
            household_id=open_memberships[0]["household_id"], individual=survivor, role=open_memberships[0]["role"]
        )
    duplicate.merged_into = survivor
    duplicate.status, duplicate.status_date = Status.INACTIVE, today
    duplicate.save()
    candidate.status = DuplicateCandidate.Status.MERGED
    candidate.reviewed_by, candidate.reviewed_at = user, timezone.now()
    candidate.merge_result = {
        "survivor": survivor.registrant_id,
        "merged": duplicate.registrant_id,
        "merged_external_id": duplicate.external_id,
        "moved_phones": moved_phones,
        "moved_documents": moved_documents,
        "filled": filled,
        "ended_memberships": [m["household_id"] for m in open_memberships],
    }
    candidate.save()
    DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.PENDING).filter(
        Q(first=duplicate) | Q(second=duplicate)
    ).update(status=DuplicateCandidate.Status.DISMISSED, merge_result={"reason": "merged elsewhere"})
    return candidate


def household_members_rebuild() -> int:
    """Recount registry_household_members from the memberships (the triggers keep it; this repairs it after
    anything they cannot follow, see registry/sql/0014_member_summary.sql). Returns the households with anyone
    counting."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT registry_household_members_rebuild()")
        return cursor.fetchone()[0]
