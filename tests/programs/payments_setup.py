"""An approved emergency cycle whose households have bank accounts, for the payment tests.

Built the way officers build it: a top-up launched from the `flood` analysis (8 affected households: six high at
8,000 BDT, two moderate at 5,000 BDT, 58,000 BDT in all), submitted by one officer and approved by another; each
household's account set by a change request that a second officer approved.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.test import TestCase

from programs.models import Cycle, Program, ProgramMembership
from programs.payments.models import FinancialServiceProvider, PaymentAccount
from programs.payments.services import payment_account_change_approve, payment_account_change_request
from programs.services import cycle_approve, cycle_submit
from tests.factories import BankFactory, UserFactory

ROUTING = "225150135"  # City Bank PLC, Agrabad Branch, in bdbanks' data


def on_commit(callable_, *args, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return callable_(*args, **kwargs)


@dataclass
class PaymentWorld:
    cycle: Cycle
    fsp: FinancialServiceProvider
    officer: object
    approver: object
    finance: object
    second_finance: object
    households: list
    accounts: dict  # household id -> PaymentAccount


def account_number(index: int) -> str:
    return f"20501{index:08d}"


def iban_number(index: int, *, fix: int = 0) -> str:
    """A valid Dutch IBAN (mock-bank holds accounts by IBAN; Bangladesh has none)."""
    from tests.programs.mockbank import iban

    return iban("NL", f"ABNA{fix}{index:09d}")


def wallet_number(index: int) -> str:
    return f"+8801712{index:06d}"


def set_account(
    household, fsp, requester, approver, *, number: str, routing_number: str = ROUTING, kind: str = "bank"
) -> PaymentAccount:
    change = payment_account_change_request(
        user=requester,
        household=household,
        fsp=fsp,
        kind=kind,
        holder_name=f"Holder {household.pk}",
        number=number,
        routing_number=routing_number if kind == "bank" else "",
    )
    return payment_account_change_approve(change=change, user=approver)


def approved_cycle_with_accounts(
    flood, *, fsp: FinancialServiceProvider | None = None, account_kind: str = "bank"
) -> PaymentWorld:
    import datetime

    from programs.services import topup_launch
    from programs.services.topups import TopUpRequest

    officer = UserFactory(username="pay.officer", roles=["program_officer"])
    approver = UserFactory(username="pay.approver", roles=["program_officer"])
    finance = UserFactory(username="pay.finance", roles=["finance_officer"])
    second_finance = UserFactory(username="pay.finance2", roles=["finance_officer"])
    program = Program.objects.create(name="Flood cash", currency="BDT", budget="1000000")
    affected = flood["high"] + flood["moderate"]
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=program, household=h, state="enrolled") for h in affected
    )
    request = TopUpRequest(
        exposure_run=flood["run"],
        program=program,
        amounts_by_class={"high": "8000.00", "moderate": "5000.00"},
        starts_on=datetime.date(2026, 7, 10),
        ends_on=datetime.date(2026, 8, 10),
    )
    cycles, _ = on_commit(topup_launch, request=request, user=officer)
    cycle = cycles[0]
    cycle.refresh_from_db()
    cycle_submit(cycle=cycle, user=officer)
    cycle_approve(cycle=cycle, user=approver)
    cycle.refresh_from_db()
    fsp = fsp or BankFactory(code="CITY", debtor_name="Ministry of Disaster Management", debtor_account="PROGRAM01")
    number = {"bank": account_number, "iban": iban_number, "mobile_wallet": wallet_number}[account_kind]
    accounts = {
        household.pk: set_account(household, fsp, officer, approver, number=number(index), kind=account_kind)
        for index, household in enumerate(affected)
    }
    return PaymentWorld(cycle, fsp, officer, approver, finance, second_finance, affected, accounts)


def mock_bank_world(flood, mock_bank) -> PaymentWorld:
    """The cycle paid through mock-bank on loopback (its HTTP API): provider MOCK debiting the programme account the
    bank holds, the households' accounts as IBANs, the programme account funded."""
    from tests.programs.mockbank import DEBTOR_ACCOUNT

    fsp = BankFactory(
        code="MOCK",
        name="Mock Bank",
        bank_code="",
        bic="MOCKNL2A",
        transport="api",
        connection={"base_url": mock_bank.base_url, "timeout_seconds": 10},
        debtor_name="SPMIS programme",
        debtor_account=DEBTOR_ACCOUNT,
        debtor_bic="MOCKNL2A",
    )
    world = approved_cycle_with_accounts(flood, fsp=fsp, account_kind="iban")
    mock_bank.debtor()
    return world
