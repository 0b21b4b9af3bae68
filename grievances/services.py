"""Writes: one transaction per use case; every change of a ticket appends its TicketEvent in the same transaction."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from distribution.models import DistributionPoint
from distribution.redemption.models import Redemption
from geo.models import Area
from geo.selectors import area_in_scope
from grievances import outbox, selectors
from grievances.models import Category, Severity, Team, Ticket, TicketEvent
from grievances.references import followup_code_new, followup_hash
from programs.models import Entitlement
from programs.payments.models import Payment
from registry.models import Household

S = Ticket.Status
ADD = "grievances.add_ticket"
CHANGE = "grievances.change_ticket"

# action: (statuses it starts from, status it leads to). Pure data, so the rules are read in one place.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": ((S.RECEIVED,), S.ACKNOWLEDGED),
    "start": ((S.ACKNOWLEDGED,), S.IN_PROGRESS),
    "decide": ((S.RECEIVED, S.ACKNOWLEDGED, S.IN_PROGRESS), S.RESOLVED),
    "appeal": ((S.RESOLVED,), S.APPEALED),
    "decide_appeal": ((S.APPEALED,), S.RESOLVED),
    "close": ((S.RESOLVED,), S.CLOSED),
}
OFFICER_CHANNELS = (Ticket.Channel.API, Ticket.Channel.CALL_CENTRE, Ticket.Channel.WALK_IN)


@dataclass(frozen=True)
class Created:
    ticket: Ticket
    followup_code: str | None


def _require(user, permission: str) -> None:
    if user is None or not user.is_authenticated or not user.has_perm(permission):
        raise PermissionDenied("This needs the grievance officer's permission.")


def _text(value, *, field: str, required: bool = True, limit: int = 5000) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({field: "Expected text."})
    value = value.strip()
    if "\x00" in value:
        raise ValidationError({field: "Text may not contain NUL characters."})
    if required and not value:
        raise ValidationError({field: "This field is required."})
    if len(value) > limit:
        raise ValidationError({field: f"At most {limit} characters."})
    return value


def team_for(*, area_id: int | None, sensitive: bool) -> Team | None:
    """The team serving the nearest ancestor of the area (the area itself first); for a sensitive ticket, only a
    team that handles sensitive cases. Ties go to a team that does not handle sensitive cases, then the oldest."""
    if area_id is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id
              FROM geo_area a
              JOIN grievances_team_areas ta ON ta.area_id = ANY (a.lineage) OR ta.area_id = a.id
              JOIN grievances_team t ON t.id = ta.team_id
             WHERE a.id = %s AND (t.handles_sensitive OR NOT %s)
             ORDER BY coalesce(array_position(a.lineage, ta.area_id), 1000000) DESC,
                      (ta.area_id = a.id) DESC, t.handles_sensitive, t.id
             LIMIT 1
            """,
            [area_id, sensitive],
        )
        row = cursor.fetchone()
    return Team.objects.get(pk=row[0]) if row else None


def _linked(model, pk, *, field: str):
    if pk in (None, ""):
        return None
    try:
        return model.objects.get(pk=int(pk))
    except (TypeError, ValueError, model.DoesNotExist):
        raise ValidationError({field: f"No such {field.replace('_', ' ')}."}) from None


def _event(ticket: Ticket, kind: str, *, actor=None, before: str = "", after: str = "", note: str = "", data=None):
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, from_status=before, to_status=after, actor=actor, note=note, data=data or {}
    )


@transaction.atomic(durable=True)
def ticket_create(
    *,
    user=None,
    channel: str,
    category: str,
    description: str,
    severity: str | None = None,
    area_code: str | None = None,
    distribution_point_id: int | None = None,
    household_id: int | None = None,
    entitlement_id: int | None = None,
    payment_id: int | None = None,
    redemption_id: int | None = None,
    anonymous: bool = False,
    complainant_name: str = "",
    complainant_phone: str = "",
    complainant_email: str = "",
    language: str = "en",
    external_id: str = "",
    now: datetime.datetime | None = None,
) -> Created:
    """Log a complaint. Officers (user given) log API, call-centre and walk-in tickets inside their areas; the public
    web form and the SMS webhook pass no user. A follow-up code is returned (once) for web and anonymous tickets."""
    if user is not None:
        _require(user, ADD)
        if channel not in OFFICER_CHANNELS:
            raise ValidationError({"channel": f"Choose one of {', '.join(OFFICER_CHANNELS)}."})
    elif channel not in (Ticket.Channel.WEB, Ticket.Channel.SMS):
        raise ValidationError({"channel": "Only web and SMS complaints arrive without a signed-in officer."})
    found = Category.objects.filter(code=category, active=True).first() if isinstance(category, str) else None
    if found is None:
        raise ValidationError({"category": "No such category; see the list of categories."})
    description = _text(description, field="description")
    severity = severity or found.default_severity
    if severity not in Severity.values:
        raise ValidationError({"severity": "Choose one of low, medium, high, critical."})
    if language not in Ticket.Language.values:
        raise ValidationError({"language": f"Choose one of {', '.join(Ticket.Language.values)}."})
    name = _text(complainant_name, field="complainant_name", required=False, limit=200)
    phone = _text(complainant_phone, field="complainant_phone", required=False, limit=32)
    email = _text(complainant_email, field="complainant_email", required=False, limit=254)
    if email and "@" not in email:
        raise ValidationError({"complainant_email": "Expected an email address."})
    if anonymous and (name or phone or email):
        raise ValidationError({"anonymous": "An anonymous complaint carries no name, phone or email."})

    point = _linked(DistributionPoint, distribution_point_id, field="distribution_point")
    if channel == Ticket.Channel.WALK_IN and point is None:
        raise ValidationError({"distribution_point": "A walk-in complaint names the distribution point it came to."})
    household = _linked(Household, household_id, field="household")
    entitlement = _linked(Entitlement, entitlement_id, field="entitlement")
    payment = _linked(Payment, payment_id, field="payment")
    redemption = _linked(Redemption, redemption_id, field="redemption")
    if user is None and any((household, entitlement, payment, redemption)):
        raise ValidationError({"household": "Links to records are made by an officer."})
    household = household or next(
        (getattr(obj, "household", None) for obj in (entitlement, payment, redemption) if obj is not None), None
    )
    for obj, field in ((entitlement, "entitlement"), (payment, "payment"), (redemption, "redemption")):
        if obj is not None and household is not None and obj.household_id != household.pk:
            raise ValidationError({field: f"This {field} is not the linked household's."})

    area = None
    if area_code:
        area = Area.objects.filter(code=area_code).first()
        if area is None:
            raise ValidationError({"area_code": "No such area."})
    elif point is not None and point.area_id:
        area = point.area
    elif household is not None and household.area_id:
        area = household.area
    if user is not None:
        for obj, field in ((area, "area_code"), (point, "distribution_point"), (household, "household")):
            area_id = obj.pk if isinstance(obj, Area) else getattr(obj, "area_id", None)
            if obj is not None and not area_in_scope(user, area_id):
                raise ValidationError({field: "Not in your areas."})

    now = now or timezone.now()
    team = team_for(area_id=area.pk if area else None, sensitive=found.sensitive)
    ticket = Ticket.objects.create(
        channel=channel,
        external_id=_text(external_id, field="external_id", required=False, limit=100),
        category=found,
        severity=severity,
        sensitive=found.sensitive,
        description=description,
        area=area,
        distribution_point=point,
        team=team,
        anonymous=bool(anonymous),
        complainant_name=name,
        complainant_phone=phone,
        complainant_email=email,
        language=language,
        household=household,
        entitlement=entitlement,
        payment=payment,
        redemption=redemption,
        created_by=user,
        created_at=now,
        ack_due_at=now + datetime.timedelta(hours=found.ack_sla_hours),
        resolve_due_at=now + datetime.timedelta(hours=found.resolve_sla_hours),
    )
    code = None
    if anonymous or channel == Ticket.Channel.WEB:
        code = followup_code_new()
        ticket.followup_hash = followup_hash(ticket.reference, code)
        Ticket.objects.filter(pk=ticket.pk).update(followup_hash=ticket.followup_hash)
    _event(ticket, TicketEvent.Kind.CREATED, actor=user, after=S.RECEIVED, data={"channel": channel})
    if team is not None:
        _event(ticket, TicketEvent.Kind.ASSIGNED, data={"team": team.pk, "team_name": team.name})
    elif found.sensitive:
        _event(
            ticket,
            TicketEvent.Kind.NOTE,
            note="No team handling sensitive cases serves this area; an administrator assigns it.",
        )
    return Created(ticket=ticket, followup_code=code)


def _move(*, user, ticket_id: int, action: str, changes: dict, note: str = "", data=None, kind=None) -> Ticket:
    """Move a visible ticket along TRANSITIONS: the UPDATE names the status it starts from, so of two concurrent
    moves one wins and the other is refused in words."""
    _require(user, CHANGE)
    ticket = selectors.ticket_get(user=user, ticket_id=ticket_id, for_update=True)
    sources, target = TRANSITIONS[action]
    if ticket.status not in sources:
        raise ValidationError(
            {
                "status": f"Ticket {ticket.reference} is {ticket.status}; {action.replace('_', ' ')} needs "
                f"{' or '.join(sources)}."
            }
        )
    moved = Ticket.objects.filter(pk=ticket.pk, status=ticket.status).update(status=target, **changes)
    if moved != 1:
        raise ValidationError({"status": f"Ticket {ticket.reference} changed meanwhile; reload it."})
    _event(ticket, kind or action, actor=user, before=ticket.status, after=target, note=note, data=data)
    ticket.refresh_from_db()
    return ticket


@transaction.atomic(durable=True)
def ticket_acknowledge(*, user, ticket_id: int, note: str = "") -> Ticket:
    now = timezone.now()
    ticket = _move(
        user=user,
        ticket_id=ticket_id,
        action="acknowledge",
        changes={"acknowledged_at": now},
        note=_text(note, field="note", required=False),
        kind=TicketEvent.Kind.ACKNOWLEDGED,
    )
    outbox.message_queue(ticket=ticket, kind="acknowledged")
    return ticket


@transaction.atomic(durable=True)
def ticket_start(*, user, ticket_id: int, note: str = "") -> Ticket:
    return _move(
        user=user,
        ticket_id=ticket_id,
        action="start",
        changes={},
        note=_text(note, field="note", required=False),
        kind=TicketEvent.Kind.STARTED,
    )


def _outcome(outcome) -> str:
    if outcome not in Ticket.Outcome.values:
        raise ValidationError({"outcome": f"Choose one of {', '.join(Ticket.Outcome.values)}."})
    return outcome


@transaction.atomic(durable=True)
def ticket_decide(*, user, ticket_id: int, outcome: str, reason: str) -> Ticket:
    """The first decision, with its reason; an unacknowledged ticket is acknowledged by it."""
    outcome = _outcome(outcome)
    reason = _text(reason, field="reason")
    now = timezone.now()
    current = selectors.ticket_get(user=user, ticket_id=ticket_id)
    changes = {"outcome": outcome, "decision_reason": reason, "decided_by": user, "decided_at": now, "resolved_at": now}
    if current.acknowledged_at is None:
        changes["acknowledged_at"] = now
    ticket = _move(
        user=user,
        ticket_id=ticket_id,
        action="decide",
        changes=changes,
        note=reason,
        data={"outcome": outcome},
        kind=TicketEvent.Kind.DECIDED,
    )
    outbox.message_queue(ticket=ticket, kind="decided")
    return ticket


@transaction.atomic(durable=True)
def ticket_appeal(*, user, ticket_id: int, reason: str) -> Ticket:
    """Record the complainant's appeal against the decision."""
    reason = _text(reason, field="reason")
    return _move(
        user=user,
        ticket_id=ticket_id,
        action="appeal",
        changes={"appeal_reason": reason, "appealed_at": timezone.now()},
        note=reason,
        kind=TicketEvent.Kind.APPEALED,
    )


@transaction.atomic(durable=True)
def ticket_decide_appeal(*, user, ticket_id: int, outcome: str, reason: str) -> Ticket:
    """Decide an appeal: never by the user who made the first decision (the database refuses it as well)."""
    outcome = _outcome(outcome)
    reason = _text(reason, field="reason")
    current = selectors.ticket_get(user=user, ticket_id=ticket_id)
    if current.decided_by_id == user.pk:
        raise ValidationError({"user": "You made the first decision; another officer decides the appeal."})
    ticket = _move(
        user=user,
        ticket_id=ticket_id,
        action="decide_appeal",
        changes={
            "appeal_outcome": outcome,
            "appeal_decision_reason": reason,
            "appeal_decided_by": user,
            "appeal_decided_at": timezone.now(),
        },
        note=reason,
        data={"outcome": outcome},
        kind=TicketEvent.Kind.APPEAL_DECIDED,
    )
    outbox.message_queue(ticket=ticket, kind="appeal_decided")
    return ticket


@transaction.atomic(durable=True)
def ticket_close(*, user, ticket_id: int, note: str = "") -> Ticket:
    return _move(
        user=user,
        ticket_id=ticket_id,
        action="close",
        changes={"closed_at": timezone.now()},
        note=_text(note, field="note", required=False),
        kind=TicketEvent.Kind.CLOSED,
    )


@transaction.atomic(durable=True)
def ticket_assign(*, user, ticket_id: int, team_id: int) -> Ticket:
    """Hand a ticket to another team; a sensitive ticket only to a team that handles sensitive cases."""
    _require(user, CHANGE)
    ticket = selectors.ticket_get(user=user, ticket_id=ticket_id, for_update=True)
    team = _linked(Team, team_id, field="team")
    if team is None:
        raise ValidationError({"team": "This field is required."})
    if ticket.sensitive and not team.handles_sensitive:
        raise ValidationError({"team": f"{team.name} does not handle sensitive cases."})
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    _event(ticket, TicketEvent.Kind.ASSIGNED, actor=user, data={"team": team.pk, "team_name": team.name})
    ticket.refresh_from_db()
    return ticket


@transaction.atomic(durable=True)
def ticket_note(*, user, ticket_id: int, note: str) -> TicketEvent:
    _require(user, CHANGE)
    ticket = selectors.ticket_get(user=user, ticket_id=ticket_id)
    return _event(ticket, TicketEvent.Kind.NOTE, actor=user, note=_text(note, field="note"))


ESCALATE_SQL = """
WITH due AS (
    SELECT id, CASE WHEN acknowledged_at IS NULL AND ack_due_at < %(now)s THEN 'acknowledgement'
                    ELSE 'resolution' END AS clock
      FROM grievances_ticket
     WHERE escalated_at IS NULL
       AND ((acknowledged_at IS NULL AND ack_due_at < %(now)s)
            OR (status IN ('received', 'acknowledged', 'in_progress', 'appealed') AND resolve_due_at < %(now)s))
), escalated AS (
    UPDATE grievances_ticket t
       SET escalated_at = %(now)s
      FROM due
     WHERE t.id = due.id AND t.escalated_at IS NULL
    RETURNING t.id, t.status, due.clock
)
INSERT INTO grievances_ticketevent (ticket_id, kind, from_status, to_status, note, data, at)
SELECT id, 'escalated', status, status, 'SLA breached: ' || clock, jsonb_build_object('clock', clock), %(now)s
  FROM escalated
RETURNING ticket_id
"""


def tickets_escalate(*, now: datetime.datetime | None = None) -> int:
    """Escalate every breached ticket not escalated yet, in one statement: the UPDATE re-checks `escalated_at IS
    NULL` on each row it locks, so a second sweep, concurrent or later, finds nothing to do and no ticket is escalated
    twice. Returns how many were escalated."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ESCALATE_SQL, {"now": now or timezone.now()})
        return len(cursor.fetchall())


# ------------------------------------------------------------------------------------------- actions from a ticket


def _action_target(*, user, ticket_id: int) -> Ticket:
    _require(user, CHANGE)
    return selectors.ticket_get(user=user, ticket_id=ticket_id)


def _record_action(*, user, ticket: Ticket, action: str, data: dict, note: str = "") -> None:
    with transaction.atomic(durable=True):
        _event(ticket, TicketEvent.Kind.ACTION, actor=user, note=note, data={"action": action, **data})


def ticket_open_change_request(*, user, ticket_id: int, kind: str, payload: dict, individual_id: int | None = None):
    """Open a registry change request for the ticket's household through registry.services, so the registry's own
    second-user approval applies; the ticket's history records it."""
    from registry.services import change_request_submit

    ticket = _action_target(user=user, ticket_id=ticket_id)
    if ticket.household_id is None:
        raise ValidationError({"household": "The ticket is not linked to a household."})
    if not user.has_perm("registry.add_changerequest"):
        raise PermissionDenied("Opening a registry change request needs the registry's change request permission.")
    change = change_request_submit(
        user=user, kind=kind, household_id=ticket.household_id, individual_id=individual_id, payload=payload
    )
    _record_action(user=user, ticket=ticket, action="change_request", data={"change_request": change.pk, "kind": kind})
    return change


def ticket_correct_redemption(*, user, ticket_id: int, reason: str):
    """Reverse the ticket's linked redemption through distribution.redemption.services.redemption_correct (its own
    permission, scope and once-only rules apply)."""
    from distribution.redemption.services import redemption_correct

    ticket = _action_target(user=user, ticket_id=ticket_id)
    if ticket.redemption_id is None:
        raise ValidationError({"redemption": "The ticket is not linked to a redemption."})
    if not user.has_perm("distribution.add_redemption"):
        raise PermissionDenied("Correcting a redemption needs the distribution redemption permission.")
    reason = _text(reason, field="reason")
    correction = redemption_correct(user=user, redemption=ticket.redemption, reason=f"{ticket.reference}: {reason}")
    _record_action(
        user=user, ticket=ticket, action="redemption_correction", data={"correction": correction.pk}, note=reason
    )
    return correction


def ticket_reissue_payment(*, user, ticket_id: int):
    """Re-issue the ticket's failed (or returned) payment through programs.payments.services.batch_prepare: a new
    batch for the payment's cycle and provider, which picks up every payment of the cycle free for a new transfer
    (the payment app's own rules: a failure for an account reason waits for the account's correction, and a finance
    officer other than the preparer releases the batch). Returns the batch's preparation run."""
    from programs.payments.models import PaymentStatus
    from programs.payments.services.batches import ACCOUNT_REASONS, PREPARE_PERMISSION, batch_prepare

    ticket = _action_target(user=user, ticket_id=ticket_id)
    if ticket.payment_id is None:
        raise ValidationError({"payment": "The ticket is not linked to a payment."})
    if not user.has_perm(PREPARE_PERMISSION):
        raise PermissionDenied("Re-issuing a payment needs the payment batch preparation permission.")
    payment = ticket.payment
    if payment.status not in (PaymentStatus.FAILED, PaymentStatus.RETURNED):
        words = f"Payment {payment.end_to_end_id} is {payment.status}; only a failed or returned payment is re-issued."
        raise ValidationError({"payment": words})
    run = batch_prepare(cycle=payment.batch.cycle, fsp=payment.batch.fsp, user=user)
    waits = payment.reason_code in ACCOUNT_REASONS
    _record_action(
        user=user,
        ticket=ticket,
        action="payment_reissue",
        data={"payment": payment.pk, "batch": run.batch_id, "waits_for_account": waits},
        note=(
            f"Batch {run.batch_id} prepared; the payment failed for an account reason ({payment.reason_code}) and "
            "is included once its account is corrected through a change request."
            if waits
            else f"Batch {run.batch_id} prepared with the payment for release by a finance officer."
        ),
    )
    return run


def ticket_from_sms(*, message_id, sender, text, language: str = "en") -> Ticket:
    """A complaint by SMS (the webhook verified its signature). The first word may name a category code; otherwise
    the ticket is "other" for an officer to recategorise. The gateway's message id makes a redelivery a no-op."""
    message_id = _text(message_id if message_id is None else str(message_id), field="id", limit=100)
    sender = _text(sender, field="from", limit=32)
    text = _text(text, field="text", limit=1600)
    existing = Ticket.objects.filter(channel=Ticket.Channel.SMS, external_id=message_id).first()
    if existing is not None:
        return existing
    first, _, rest = text.partition(" ")
    category = (
        first.lower() if rest.strip() and Category.objects.filter(code=first.lower(), active=True).exists() else None
    )
    return ticket_create(
        channel=Ticket.Channel.SMS,
        category=category or "other",
        description=rest.strip() if category else text,
        complainant_phone=sender,
        language=language if language in Ticket.Language.values else "en",
        external_id=message_id,
    ).ticket
