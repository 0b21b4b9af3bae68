"""Reads, and the one place where grievance scoping is applied: officers see the tickets of their areas; a sensitive
ticket only the members of the team it is assigned to; complainant contact only with the personal-data permission."""

from __future__ import annotations

import datetime
from hmac import compare_digest

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from geo.selectors import scope_queryset
from grievances.models import Category, Message, Team, Ticket, TicketEvent
from grievances.references import followup_hash, reference_normalise
from grievances.sla import ticket_clocks
from registry.selectors import personal_data_allowed
from spmis.core.disclosure import suppress_small_cells

CONTACT_FIELDS = ("complainant_name", "complainant_phone", "complainant_email")


def contact_allowed(user) -> bool:
    """Complainant contact is personal data: the registry's personal-data permission decides."""
    return personal_data_allowed(user)


def ticket_list(*, user) -> QuerySet[Ticket]:
    if user is None or not user.is_authenticated:
        return Ticket.objects.none()
    queryset = scope_queryset(Ticket.objects.all(), user)
    team_ids = list(Team.objects.filter(members=user).values_list("id", flat=True))
    # Sensitive tickets (fraud, sexual exploitation and abuse): only their team, whatever else the user may see.
    queryset = queryset.filter(Q(sensitive=False) | Q(team_id__in=team_ids))
    if not contact_allowed(user):
        queryset = queryset.defer(*CONTACT_FIELDS)
    return queryset.select_related("category", "area", "team", "distribution_point")


def ticket_get(*, user, ticket_id, for_update: bool = False) -> Ticket:
    """The ticket if the user may see it, else 404 (never 403: that would confirm a sensitive case exists)."""
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        raise Http404("No such ticket.") from None
    queryset = ticket_list(user=user).filter(pk=pk)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    ticket = queryset.first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def ticket_events(*, user, ticket_id) -> QuerySet[TicketEvent]:
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("id")


def ticket_queue(*, user, clock: str | None = None, status: str | None = None) -> list[tuple[Ticket, dict]]:
    """Open tickets with their SLA clocks, most urgent first (for the officer's queue page)."""
    now = timezone.now()
    queryset = ticket_list(user=user).exclude(status=Ticket.Status.CLOSED)
    if status:
        queryset = queryset.filter(status=status)
    rows = [(ticket, ticket_clocks(ticket, now=now)) for ticket in queryset.order_by("resolve_due_at", "id")[:500]]
    if clock:
        rows = [row for row in rows if clock in row[1].values()]
    return rows


def category_list() -> QuerySet[Category]:
    return Category.objects.filter(active=True).select_related("parent")


def team_list(*, user) -> QuerySet[Team]:
    return Team.objects.prefetch_related("areas", "members")


def public_status(*, reference: str, code: str) -> Ticket | None:
    """The ticket for a reference and its follow-up code, or None (the same answer for a wrong code and an unknown
    reference, so the lookup tells nothing about which tickets exist)."""
    canonical = reference_normalise(reference)
    if canonical is None or not isinstance(code, str) or not code.strip():
        return None
    ticket = Ticket.objects.select_related("category").filter(reference=canonical).first()
    if ticket is None or not ticket.followup_hash:
        followup_hash(canonical or "", code)  # the same work whether or not the ticket exists
        return None
    if not compare_digest(ticket.followup_hash, followup_hash(canonical, code)):
        return None
    return ticket


def sms_outbox(*, limit: int = 100) -> QuerySet[Message]:
    return Message.objects.filter(medium=Message.Medium.SMS, status=Message.Status.PENDING).order_by("id")[:limit]


def _district_level() -> int:
    """The level of areas statistics are published by (2: districts in the demo's country, division, district)."""
    return int(settings.SPMIS.get("GRIEVANCE_STATISTICS_LEVEL", 2))


def statistics_table(
    *, since: datetime.date | None = None, until: datetime.date | None = None, k: int | None = None
) -> dict:
    """Published counts of tickets by category, district and outcome, with the median days to resolution, with small
    cells suppressed (spmis.core.disclosure). Sensitive categories are counted too: counts of k or more disclose
    nobody, and smaller ones are suppressed like any other."""
    # One grouped statement: counts and medians are computed where the rows are (100k tickets in well under a
    # second), and only the small table of cells comes back.
    sql = """
        SELECT c.code, d.code, coalesce(nullif(t.outcome, ''), 'open'), count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.created_at) / 86400)
                   FILTER (WHERE t.resolved_at IS NOT NULL)
          FROM grievances_ticket t
          JOIN grievances_category c ON c.id = t.category_id
          LEFT JOIN geo_area a ON a.id = t.area_id
          LEFT JOIN geo_area d ON d.id = coalesce(a.lineage[%(level)s + 1], a.lineage[array_length(a.lineage, 1)])
         WHERE (%(since)s::date IS NULL OR t.created_at >= %(since)s::date)
           AND (%(until)s::date IS NULL OR t.created_at < %(until)s::date + 1)
         GROUP BY 1, 2, 3
         ORDER BY 1, 2 NULLS FIRST, 3
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"level": _district_level(), "since": since, "until": until})
        rows = cursor.fetchall()
    table = [
        {
            "category": category,
            "district": district,
            "outcome": outcome,
            "count": count,
            "median_days_to_resolution": round(median, 2) if median is not None else None,
        }
        for category, district, outcome, count, median in rows
    ]
    published = suppress_small_cells(
        table, count="count", measures=("median_days_to_resolution",), group_by=("category", "district"), k=k
    )
    return {"rows": published, "suppressed": sum(1 for row in published if row["suppressed"])}
