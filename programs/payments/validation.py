"""Normalise and validate an account before it is encrypted: every refusal names the field it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

import bdbanks
import phonenumbers
from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from programs.payments.models import AccountKind, FinancialServiceProvider
from spmis.country import country

# Separators people type inside account numbers; anything else is refused rather than silently dropped.
_SEPARATORS = re.compile(r"[\s\-./]")


@dataclass(frozen=True)
class Normalised:
    number: str  # what is encrypted: digits, compact IBAN or E.164
    routing_number: str
    bic: str
    index_input: str  # what the blind index is computed over


def _bank(fsp: FinancialServiceProvider, number: str, routing_number: str) -> Normalised:
    if fsp.kind != FinancialServiceProvider.Kind.BANK:
        raise ValidationError({"fsp": f"{fsp.code} is a {fsp.kind} provider; a bank account needs a bank."})
    routing = (routing_number or "").strip()
    if not routing:
        raise ValidationError({"routing_number": "A Bangladesh bank account needs its branch's BEFTN routing number."})
    check = bdbanks.check(routing)
    if not check.ok:
        # bdbanks knows every branch routing (check digit included): a mistyped digit is an unknown branch.
        raise ValidationError({"routing_number": f"Routing number {routing} is refused: {'; '.join(check.problems)}."})
    if fsp.bank_code and check.branch.bank_code != fsp.bank_code:
        raise ValidationError(
            {
                "routing_number": f"Routing number {routing} belongs to {check.branch.bank_name} (bank"
                f" {check.branch.bank_code}), not to {fsp.name} (bank {fsp.bank_code})."
            }
        )
    digits = _SEPARATORS.sub("", number or "")
    if not re.fullmatch(r"\d{6,20}", digits):
        raise ValidationError({"number": "A bank account number is 6 to 20 digits."})
    # Account numbers are unique within a bank, not across banks: the bank code is part of what identifies one.
    return Normalised(digits, routing, "", index_input(AccountKind.BANK, routing, digits))


def _iban(fsp: FinancialServiceProvider, number: str, bic: str) -> Normalised:
    if fsp.kind != FinancialServiceProvider.Kind.BANK:
        raise ValidationError({"fsp": f"{fsp.code} is a {fsp.kind} provider; an IBAN needs a bank."})
    try:
        iban = IBAN(number or "")
    except SchwiftyException as error:
        raise ValidationError({"number": f"Not a valid IBAN: {error}."}) from None
    code = (bic or "").strip() or fsp.bic
    if code:
        try:
            code = BIC(code).compact
        except SchwiftyException as error:
            raise ValidationError({"bic": f"Not a valid BIC: {error}."}) from None
    return Normalised(iban.compact, "", code, index_input(AccountKind.IBAN, "", iban.compact))


def _wallet(fsp: FinancialServiceProvider, number: str) -> Normalised:
    if fsp.kind != FinancialServiceProvider.Kind.MOBILE_MONEY or not fsp.wallet_provider:
        raise ValidationError({"fsp": f"{fsp.code} is not a mobile money provider with a wallet provider named."})
    try:
        parsed = phonenumbers.parse(number or "", country().phone_region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError({"number": f"Not a phone number: {error}."}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError({"number": f"{number} is not a valid mobile number."})
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Normalised(e164, "", "", index_input(AccountKind.MOBILE_WALLET, "", e164))


def index_input(kind: str, routing_number: str, number: str) -> str:
    """What the blind index is computed over, from a stored (normalised) account: a bank account by its bank's code
    and number (numbers are unique within a bank only), an IBAN, a wallet by its E.164 number."""
    if kind == AccountKind.BANK:
        return f"bank:{bdbanks.check(routing_number).branch.bank_code}:{number}"
    if kind == AccountKind.IBAN:
        return f"iban:{number}"
    return f"msisdn:{number}"


def normalise_account(
    *, kind: str, fsp: FinancialServiceProvider, number: str, routing_number: str = "", bic: str = ""
) -> Normalised:
    if not fsp.active:
        raise ValidationError({"fsp": f"{fsp.code} is not active."})
    if kind == AccountKind.BANK:
        return _bank(fsp, number, routing_number)
    if kind == AccountKind.IBAN:
        return _iban(fsp, number, bic)
    if kind == AccountKind.MOBILE_WALLET:
        return _wallet(fsp, number)
    raise ValidationError({"kind": f"Choose one of {', '.join(AccountKind.values)}."})


def validate_bank_code(code: str) -> str:
    code = (code or "").strip()
    if code and bdbanks.bank(code) is None:
        raise ValidationError({"bank_code": f"{code} is no bank code in the Bangladesh routing data."})
    return code
