"""Reads for the registry. Area scoping goes only through geo.selectors.scope_queryset: households by their area,
individuals through the households they currently belong to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from django.contrib.gis.geos import GEOSGeometry, Point
from django.contrib.gis.measure import D
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import CharField, Count, Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Greatest
from psycopg import sql

from geo.models import Area
from geo.selectors import area_in_scope, scope_queryset, user_area_ids
from geo.tiles import Tile, render_mvt
from registry.custom import filter_q
from registry.ids import registrant_id_normalise
from registry.models import (
    ChangeRequest,
    CustomFilter,
    DedupRun,
    DuplicateCandidate,
    Household,
    Individual,
    Membership,
    RegistryImport,
)
from spmis.api.sqljson import json_object, json_rows, model_columns
from spmis.country import country


class FoldedName(Func):
    """registry_fold(given_name || ' ' || family_name): the expression of the trigram index, so it is used."""

    template = "registry_fold(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = CharField()

    def __init__(self, **extra):
        super().__init__(F("given_name"), F("family_name"), **extra)


@dataclass
class RegistrySearch:
    """Search parameters shared by household and individual lists (all optional, all must hold)."""

    name: str | None = None
    registrant_id: str | None = None
    document: str | None = None
    phone: str | None = None
    area_code: str | None = None
    within: GEOSGeometry | None = None
    near: Point | None = None
    radius_m: float | None = None
    status: str | None = None
    custom_filter: str | None = None
    phone_region: str | None = None  # the configured country's when None


PERSONAL_DATA_PERMISSION = "registry.view_personal_data"
# Search parameters that find people by who they are or exactly where they live: answering them (even with a
# reduced row) would tell a user without the permission that a named person lives in an area or at a spot.
PERSONAL_SEARCH_FIELDS = {
    "name": "q",
    "document": "document",
    "phone": "phone",
    "within": "within",
    "near": "near",
    "custom_filter": "filter",
}


def personal_data_allowed(user) -> bool:
    """Whether the user may see names, birth dates, phones, ID documents, addresses, custom fields and exact
    locations. Every registry read that could show them (API serializers, exports, search) asks here; without it a
    user gets the reduced representation described in docs/foundation.md."""
    return bool(user is not None and user.is_authenticated and user.has_perm(PERSONAL_DATA_PERMISSION))


def _refuse_personal_search(user, search: RegistrySearch) -> None:
    if personal_data_allowed(user):
        return
    used = [param for field, param in PERSONAL_SEARCH_FIELDS.items() if getattr(search, field) not in (None, "")]
    if search.registrant_id and registrant_id_normalise(search.registrant_id).startswith("I"):
        used.append("registrant_id")
    if used:
        raise PermissionDenied(
            f"Searching by {', '.join(used)} needs permission to see personal data; filter by area or status instead."
        )


def scoped_households(user) -> QuerySet[Household]:
    return scope_queryset(Household.objects.all(), user, area_field="area")


def scoped_individuals(user, *, after: int | None = None) -> QuerySet[Individual]:
    """Individuals visible to the user: national users see everyone; scoped users see the members (current or
    past) of households in their areas. With `after`, only ids above it (keyset paging): the bound is repeated
    inside the membership test, because the planner does not carry it across the semi-join by itself and would
    otherwise walk every membership from the first."""
    queryset = Individual.objects.all()
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    if user_area_ids(user) is None:
        return queryset
    memberships = Membership.objects.filter(individual=OuterRef("pk"), household__in=scoped_households(user))
    if after is not None:
        memberships = memberships.filter(individual_id__gt=after)
    return queryset.filter(Exists(memberships))


def scoped_individual_memberships(user) -> QuerySet[Membership] | None:
    """For counting a scoped user's individuals from the household side (their areas' households, then their
    memberships, by index), where walking every individual would not stop early: the memberships (current or past)
    of the households in their areas. None for national users."""
    if user_area_ids(user) is None:
        return None
    return Membership.objects.filter(household__in=scoped_households(user).values("pk"))


def _phone_e164(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError({"phone": f"Not a phone number: {raw!r}."}) from None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _household_filters(search: RegistrySearch) -> Q:
    query = Q()
    if search.area_code:
        area = Area.objects.filter(code=search.area_code).only("id").first()
        if area is None:
            raise ValidationError({"area": f"No area with code {search.area_code!r}."})
        query &= Q(area__lineage__contains=[area.id])
    if search.within is not None:
        query &= Q(location__intersects=search.within)
    if search.near is not None:
        radius = search.radius_m or 1000.0
        # Bounding pre-filter through the GiST index (degrees, generous), then the exact geodesic distance.
        degrees = radius / 111_000 / max(0.1, abs(math.cos(math.radians(search.near.y))))
        query &= Q(location__dwithin=(search.near, degrees)) & Q(location__distance_lte=(search.near, D(m=radius)))
    return query


def individual_list(*, user, search: RegistrySearch | None = None, after: int | None = None) -> QuerySet[Individual]:
    search = search or RegistrySearch()
    _refuse_personal_search(user, search)
    queryset = scoped_individuals(user, after=after)
    if search.name:
        query = Func(Value(search.name), function="registry_fold", output_field=CharField())
        queryset = (
            queryset.alias(folded_name=FoldedName())
            .filter(Q(folded_name__trigram_similar=query) | Q(folded_name__trigram_word_similar=query))
            .annotate(
                name_score=Greatest(TrigramSimilarity(FoldedName(), query), TrigramWordSimilarity(query, FoldedName()))
            )
            .order_by("-name_score", "id")
        )
    if search.registrant_id:
        queryset = queryset.filter(registrant_id=registrant_id_normalise(search.registrant_id))
    if search.document:
        kind, _, number = search.document.rpartition(":")
        documents = Q(documents__number=number) & (Q(documents__id_type__code=kind) if kind else Q())
        queryset = queryset.filter(pk__in=Individual.objects.filter(documents).values("pk"))
    if search.phone:
        number = _phone_e164(search.phone, search.phone_region or country().phone_region)
        queryset = queryset.filter(pk__in=Individual.objects.filter(phones__number=number).values("pk"))
    if search.status:
        queryset = queryset.filter(status=search.status)
    household_q = _household_filters(search)
    if household_q:
        households = Household.objects.filter(household_q)
        queryset = queryset.filter(
            Exists(
                Membership.objects.filter(
                    individual=OuterRef("pk"), end_date__isnull=True, household__in=households.values("pk")
                )
            )
        )
    if search.custom_filter:
        queryset = queryset.filter(_saved_filter(search.custom_filter, "individual"))
    return queryset.prefetch_related(
        "phones",
        "documents__id_type",
        Prefetch("memberships", queryset=Membership.objects.filter(end_date__isnull=True), to_attr="open_memberships"),
    )


def _saved_filter(reference: str, applies_to: str) -> Q:
    saved = (
        CustomFilter.objects.filter(pk=int(reference)).first()
        if reference.isdigit()
        else CustomFilter.objects.filter(name=reference).first()
    )
    if saved is None:
        raise ValidationError({"filter": f"No saved filter {reference!r}."})
    if saved.applies_to != applies_to:
        raise ValidationError({"filter": f"The filter {saved.name!r} applies to {saved.applies_to}s."})
    return filter_q(applies_to=applies_to, conditions=saved.conditions)


def household_filter(*, user, search: RegistrySearch | None = None) -> QuerySet[Household]:
    """The households the user may see that match the search, ordered by id: no annotation and no prefetch, so
    counting and paging it reads only what it must."""
    search = search or RegistrySearch()
    _refuse_personal_search(user, search)
    queryset = scoped_households(user).filter(_household_filters(search))
    if search.status:
        queryset = queryset.filter(status=search.status)
    if search.custom_filter:
        queryset = queryset.filter(_saved_filter(search.custom_filter, "household"))
    registrant = registrant_id_normalise(search.registrant_id or "")
    if registrant.startswith("H"):
        queryset = queryset.filter(registrant_id=registrant)
    member_search = RegistrySearch(
        name=search.name,
        registrant_id=registrant if registrant.startswith("I") else None,
        document=search.document,
        phone=search.phone,
        phone_region=search.phone_region,
    )
    if member_search.name or member_search.registrant_id or member_search.document or member_search.phone:
        members = individual_list(user=user, search=member_search).order_by().values("pk")
        queryset = queryset.filter(
            Exists(Membership.objects.filter(household=OuterRef("pk"), end_date__isnull=True, individual__in=members))
        )
    return queryset.order_by("id")


def household_list(*, user, search: RegistrySearch | None = None) -> QuerySet[Household]:
    """household_filter with each household's size and, for roles that may see them, its current members: for
    serializers and exports."""
    queryset = household_filter(user=user, search=search).annotate(
        size=Count("memberships", filter=Q(memberships__end_date__isnull=True), distinct=True)
    )
    if not personal_data_allowed(user):
        return queryset.select_related("area")  # the reduced representation lists no members
    return queryset.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(end_date__isnull=True).select_related("individual"),
            to_attr="open_memberships",
        )
    )


# JSON pages built in SQL (spmis.api.sqljson): one statement per page whatever the number of members. The
# expressions are keyed by output field; which fields a page carries is the caller's (the role's serializer).

HOUSEHOLD_COLUMNS = {
    **model_columns(Household, "h"),
    "area_code": sql.SQL("a.code"),
    "size": sql.SQL("coalesce(m.size, 0)"),
    "members": sql.SQL("coalesce(m.members, '[]'::json)"),
}
MEMBER_COLUMNS = {
    "individual": sql.SQL("ms.individual_id"),
    "registrant_id": sql.SQL("i.registrant_id"),
    "given_name": sql.SQL("i.given_name"),
    "family_name": sql.SQL("i.family_name"),
    "birth_date": sql.SQL("i.birth_date"),
    "sex": sql.SQL("i.sex"),
    "role": sql.SQL("ms.role"),
    "start_date": sql.SQL("ms.start_date"),
}


def _within(queryset: QuerySet | None, column: str) -> tuple[sql.Composable, list]:
    """`AND <column> IN (<the queryset's ids>)`, to check visibility inside the page statement itself."""
    if queryset is None:
        return sql.SQL(""), []
    query, params = queryset.order_by().values("pk").query.sql_with_params()
    return sql.SQL("WHERE {} IN ({})").format(sql.SQL(column), sql.SQL(query)), list(params)


def household_page_json(
    *,
    ids: list[int],
    fields: Sequence[str],
    member_fields: Sequence[str] = (),
    geometry: bool = True,
    within: QuerySet | None = None,
) -> str:
    """GeoJSON Features (a JSON array, as text) for the households `ids`, in that order: `id`, `geometry` (the
    exact point, or null when `geometry` is false) and `properties` with `fields` (`members` with
    `member_fields`). Only ids in `within` (the user's visible households) when given; otherwise the caller has
    checked them."""
    properties = [field for field in fields if field != "id"]
    within_sql, within_params = _within(within, "h.id")
    members = sql.SQL("NULL::json")
    if "members" in properties:
        members = sql.SQL("json_agg({} ORDER BY ms.id)").format(
            json_object(MEMBER_COLUMNS, member_fields, what="member")
        )
    query = sql.SQL(
        """
        SELECT json_agg(json_build_object(
                   'id', h.id, 'type', 'Feature', 'geometry', {geometry}, 'properties', {properties}) ORDER BY p.ord)
        FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)
        JOIN registry_household h ON h.id = p.id
        LEFT JOIN geo_area a ON a.id = h.area_id
        LEFT JOIN LATERAL (
            SELECT count(*) AS size, {members} AS members
            FROM registry_membership ms JOIN registry_individual i ON i.id = ms.individual_id
            WHERE ms.household_id = h.id AND ms.end_date IS NULL
        ) m ON true
        {within}
        """
    ).format(
        geometry=sql.SQL("ST_AsGeoJSON(h.location)::json" if geometry else "NULL::json"),
        properties=json_object(HOUSEHOLD_COLUMNS, properties, what="household"),
        members=members,
        within=within_sql,
    )
    return json_rows(query, [list(ids), *within_params])


INDIVIDUAL_COLUMNS = {
    **model_columns(Individual, "i"),
    "phones": sql.SQL(
        "(SELECT coalesce(json_agg(ph.number ORDER BY ph.id), '[]'::json) FROM registry_phone ph "
        "WHERE ph.individual_id = i.id)"
    ),
    "documents": sql.SQL(
        "(SELECT coalesce(json_agg(json_build_object('id_type', t.code, 'number', d.number) ORDER BY d.id), "
        "'[]'::json) FROM registry_iddocument d JOIN registry_idtype t ON t.id = d.id_type_id "
        "WHERE d.individual_id = i.id)"
    ),
    "households": sql.SQL(
        "(SELECT coalesce(json_agg(json_build_object('household', ms.household_id, 'role', ms.role, "
        "'since', ms.start_date) ORDER BY ms.id), '[]'::json) FROM registry_membership ms "
        "WHERE ms.individual_id = i.id AND ms.end_date IS NULL)"
    ),
    "name_score": sql.SQL("p.name_score"),
}


def individual_page_json(
    *,
    ids: list[int],
    fields: Sequence[str],
    name_scores: Sequence[float] | None = None,
    within: QuerySet | None = None,
) -> str:
    """Individuals (a JSON array, as text) for `ids`, in that order, with `fields`; `name_score` comes from
    `name_scores` (one per id, from a name search) and is null without one, as the serializer gives it. Only ids
    in `within` when given (as for households)."""
    within_sql, within_params = _within(within, "i.id")
    query = sql.SQL(
        """
        SELECT json_agg({row} ORDER BY p.ord)
        FROM unnest(%s::bigint[], %s::float8[]) WITH ORDINALITY AS p(id, name_score, ord)
        JOIN registry_individual i ON i.id = p.id
        {within}
        """
    ).format(row=json_object(INDIVIDUAL_COLUMNS, fields, what="individual"), within=within_sql)
    scores = list(name_scores) if name_scores is not None else [None] * len(ids)
    return json_rows(query, [list(ids), scores, *within_params])


def household_size(household: Household) -> int:
    return household.memberships.filter(end_date__isnull=True).count()


def household_get(*, user, pk: int) -> Household:
    household = scoped_households(user).filter(pk=pk).first()
    if household is None:
        raise Household.DoesNotExist
    return household


def individual_get(*, user, pk: int) -> Individual:
    individual = scoped_individuals(user).filter(pk=pk).first()
    if individual is None:
        raise Individual.DoesNotExist
    return individual


def change_request_list(*, user) -> QuerySet[ChangeRequest]:
    households = scoped_households(user).values("pk")
    individuals = scoped_individuals(user).values("pk")
    queryset = ChangeRequest.objects.select_related("submitted_by", "reviewed_by")
    if user_area_ids(user) is None:
        return queryset
    return queryset.filter(Q(household__in=households) | Q(individual__in=individuals))


def duplicate_list(*, user, status: str | None = None) -> QuerySet[DuplicateCandidate]:
    visible = scoped_individuals(user).values("pk")
    queryset = DuplicateCandidate.objects.select_related("first", "second")
    if user_area_ids(user) is not None:
        queryset = queryset.filter(first__in=visible, second__in=visible)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def _created_in_scope(queryset: QuerySet, user) -> QuerySet:
    """Jobs (imports, dedup runs) scoped by their creator's areas: a national user sees all; a user bound to areas
    sees their own and those of creators whose areas all lie inside theirs (not a national creator's)."""
    ids = user_area_ids(user)
    if ids is None:
        return queryset
    creator_areas = Area.objects.filter(scopes__user=OuterRef("created_by"))
    return queryset.filter(
        Q(created_by=user) | (Exists(creator_areas) & ~Exists(creator_areas.exclude(lineage__overlap=ids)))
    )


def registry_import_list(*, user) -> QuerySet[RegistryImport]:
    return _created_in_scope(RegistryImport.objects.select_related("created_by"), user)


def dedup_run_list(*, user) -> QuerySet[DedupRun]:
    return _created_in_scope(DedupRun.objects.all(), user)


def user_may_edit_area(*, user, area_id: int | None) -> bool:
    return area_in_scope(user, area_id)


def household_tile(*, user, tile: Tile) -> bytes:
    """Household points in a tile, only inside the user's areas. The caller checks registry.view_household."""
    ids = user_area_ids(user)
    where = sql.SQL("t.location IS NOT NULL")
    params: list = []
    if ids is not None:
        where = sql.SQL("{} AND t.area_id IN (SELECT id FROM geo_area WHERE lineage && %s::bigint[])").format(where)
        params = [list(ids)]
    return render_mvt(
        table=Household._meta.db_table,
        layer_name="households",
        tile=tile,
        geom_column="location",
        columns=("id", "area_id"),
        where=where,
        params=params,
    )
