"""What a death recorded in the registry does to programs: the person's benefits are paused, never cancelled (a
mistaken report is undone by resuming), in the approval's transaction (programs.receivers)."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Now

from programs.models import Entitlement, ProgramMembership
from programs.payments.models import CLOSED_WITHOUT_PAYING, Payment
from registry.models import HouseholdMembers, Individual, Membership

# Entitlements not yet paid that a pause stops: a payment already live (in a batch, sent, accepted, paid) is left to
# the payment ledger, and reported.
PAUSABLE_ENTITLEMENTS = (Entitlement.Status.DRAFT, Entitlement.Status.APPROVED)


def memberships_pause_for_death(*, individual: Individual, death_date: dt.date, reference: str = "") -> dict:
    """Pause the program memberships that the deceased person held, and their unpaid entitlements.

    Memberships are per household. A program that targets individuals paid this person: its membership of each of
    the person's households is paused. A program that targets households goes on for the others, unless nobody
    counts in the household any more (registry_household_members, already updated by the status change).
    Runs in the caller's transaction; returns what it did for the change request's diff.
    """
    households = set(
        Membership.objects.filter(individual=individual)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=death_date))
        .values_list("household_id", flat=True)
    )
    still_counting = set(
        HouseholdMembers.objects.filter(household_id__in=households, members__gt=0).values_list(
            "household_id", flat=True
        )
    )
    empty = households - still_counting
    candidates = ProgramMembership.objects.filter(
        household_id__in=households, state=ProgramMembership.State.ENROLLED
    ).filter(Q(program__target="individual") | Q(household_id__in=empty))
    rows = list(
        candidates.select_for_update(of=("self",)).order_by("pk").values_list("pk", "program_id", "household_id")
    )
    if not rows:
        return {"programs": {"memberships_paused": [], "entitlements_paused": [], "entitlements_in_payment": []}}
    reason = f"death of {individual.registrant_id} on {death_date.isoformat()}"
    if reference:
        reason += f" ({reference})"
    ProgramMembership.objects.filter(pk__in=[pk for pk, _, _ in rows], state=ProgramMembership.State.ENROLLED).update(
        state=ProgramMembership.State.PAUSED, reason=reason[:255], state_changed_at=Now()
    )
    pairs = reduce(or_, (Q(program_id=program, household_id=household) for _, program, household in rows))
    live_payment = Payment.objects.filter(entitlement=OuterRef("pk")).exclude(status__in=CLOSED_WITHOUT_PAYING)
    unpaid = Entitlement.objects.filter(pairs, status__in=PAUSABLE_ENTITLEMENTS).annotate(live=Exists(live_payment))
    pausing = {code: pk for pk, code, live in unpaid.values_list("pk", "code", "live") if not live}
    in_payment = sorted(code for _, code, live in unpaid.values_list("pk", "code", "live") if live)
    Entitlement.objects.filter(pk__in=pausing.values(), status__in=PAUSABLE_ENTITLEMENTS).update(
        status=Entitlement.Status.PAUSED
    )
    return {
        "programs": {
            "memberships_paused": [pk for pk, _, _ in rows],
            "entitlements_paused": sorted(pausing),
            "entitlements_in_payment": in_payment,
        }
    }
