"""The demo's program: a family allowance for households with young children or older people, enrolled by its rule,
so that a program officer has beneficiaries to top up when the coordinator's analysis finds them affected."""

from __future__ import annotations

from django.db import transaction

from programs.models import EnrolmentRun, Program
from programs.services import enrolment_execute
from spmis.country import country

DEMO_PROGRAM = "Family allowance (demo)"
DEMO_RULE = "members.under_5 > 0 || members.aged_60_plus > 0"


def load_demo_program() -> dict:
    """Create the demo program once and enrol the demo registry by its rule (again after a registry reload)."""
    with transaction.atomic():
        program, created = Program.objects.get_or_create(
            name=DEMO_PROGRAM,
            defaults={
                "kind": Program.Kind.REGULAR,
                "currency": country().currency,
                "budget": 500_000_000,
                "funding_source": "Government (demo)",
                "eligibility_rule": DEMO_RULE,
                "description": "Monthly support for households with children under five or members aged 60 and over.",
            },
        )
        run = EnrolmentRun.objects.create(
            program=program, action=EnrolmentRun.Action.ENROL, rule=program.eligibility_rule, reason="demo"
        )
    # Run here rather than queued: the demo command has no worker, and the run's row records it either way.
    run = enrolment_execute(run_id=run.pk)
    return {
        "program": program.code,
        "enrolled": program.memberships.filter(state="enrolled").count(),
        "created": created,
    }
