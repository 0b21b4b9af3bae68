"""The demo's program: a family allowance for households with young children or older people, enrolled by its rule,
so that a program officer has beneficiaries to top up when the coordinator's analysis finds them affected."""

from __future__ import annotations

from django.db import transaction

from programs.models import EnrolmentRun, Program
from programs.payments.models import FinancialServiceProvider
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


# Two providers a finance officer can pay the demo's cycles through, by file download (the demo has no bank):
# City Bank PLC (bank code 225 in bd-bank-routing) by ISO 20022 pain.001, and bKash by its CSV payout file.
DEMO_PROVIDERS = [
    {
        "code": "CITY",
        "name": "City Bank PLC (demo)",
        "kind": FinancialServiceProvider.Kind.BANK,
        "bank_code": "225",
        "file_format": FinancialServiceProvider.FileFormat.PAIN_001_001_09,
        "debtor_name": "Department of Disaster Management (demo)",
        "debtor_account": "1501000123456",
        "fee_fixed": 5,
    },
    {
        "code": "BKASH",
        "name": "bKash (demo)",
        "kind": FinancialServiceProvider.Kind.MOBILE_MONEY,
        "wallet_provider": "bKash",
        "file_format": FinancialServiceProvider.FileFormat.CSV,
        "debtor_name": "Department of Disaster Management (demo)",
        "fee_percent": "1.5",
    },
]


def load_demo_providers() -> list[str]:
    """The demo's payment providers, once (download transport: files are handed over by hand)."""
    for values in DEMO_PROVIDERS:
        FinancialServiceProvider.objects.get_or_create(
            code=values["code"], defaults={**values, "currency": country().currency}
        )
    return [values["code"] for values in DEMO_PROVIDERS]
