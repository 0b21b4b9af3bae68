"""What goes into a payment file's fields: texts cut to the schema's lengths, identifiers checked (never cut),
amounts written exactly. Pure code: no database, no Django.

Texts (names, remittance information) are made to fit, deterministically, because a name longer than 140
characters must not stop a payment:

- ``unicode`` (the default, what the ISO 20022 XSDs allow): NFC normalisation; control characters and every run
  of whitespace become one space; leading and trailing spaces go; the result is cut to the field's length in
  characters (the XSD counts characters, not bytes), never between a letter and the combining mark that follows it.
- ``latin`` (for an FSP that takes only the restricted Latin set of SEPA and most ACH systems: a-z A-Z 0-9
  / - ? : ( ) . , ' + and space): the same, after accents are taken off (NFKD, combining marks dropped), a few
  letters without a decomposition are spelled out (ß ss, Æ AE, Ø O, Ł L, Đ D, Þ TH, Œ OE) and any other character
  is dropped. A text that leaves nothing (a name written in Bengali script only) is refused with the field named:
  such a name needs its Latin spelling from the registry, not a guess here.

Identifiers (MsgId, PmtInfId, EndToEndId, InstrId, account numbers) are never cut or changed: cutting two
different references to the same 35 characters would pay two people under one reference. They are checked and
refused with a clear error instead.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from programs.money import MAX_AMOUNT, minor_units

CHARSETS = ("unicode", "latin")

_WHITESPACE = re.compile(r"\s+")
# XML 1.0 refuses these code points outright; Unicode's other control characters are legal XML but mean nothing
# in a name, so both go (to a space, then collapsed).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_LATIN_REFUSED = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_SPELLED = str.maketrans(
    {"ß": "ss", "Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Þ": "TH"}
    | {"þ": "th", "Œ": "OE", "œ": "oe", "ı": "i", "‘": "'", "’": "'", "–": "-", "—": "-"}
)
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Za-z0-9]{1,30}$")
_BIC = re.compile(r"^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class PaymentFileError(ValueError):
    """A row or a header that cannot be written as it is; the message names the field and the payment."""


class TotalsMismatch(PaymentFileError):
    """The rows written do not agree with the count and sum the caller declared: the file must be discarded."""


def fit_text(value: str, max_length: int, *, field: str, charset: str = "unicode") -> str:
    """`value` as a schema text of at most `max_length` characters (see the module's rules); PaymentFileError if
    nothing is left of it."""
    if charset not in CHARSETS:
        raise PaymentFileError(f"charset: {charset!r} is not one of {', '.join(CHARSETS)}.")
    text = value if isinstance(value, str) else ""
    if text.isascii() and text.isprintable() and "  " not in text and len(text) <= max_length:
        # The common case (a plain ASCII name of normal length) costs no normalisation.
        text = text.strip()
    else:
        text = unicodedata.normalize("NFC", text)
        if charset == "latin":
            text = unicodedata.normalize("NFKD", text.translate(_SPELLED))
            text = "".join(c for c in text if not unicodedata.combining(c))
            text = _LATIN_REFUSED.sub("", _CONTROL.sub(" ", text))
        text = _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
        if len(text) > max_length:
            cut = max_length
            while cut > 0 and unicodedata.combining(text[cut]):
                cut -= 1  # keep a letter with its marks: drop both rather than split them
            text = text[:cut].rstrip()
    if charset == "latin" and _LATIN_REFUSED.search(text):
        text = _WHITESPACE.sub(" ", _LATIN_REFUSED.sub("", text)).strip()
    if not text:
        what = "has no character of the restricted Latin set" if charset == "latin" and value else "is empty"
        raise PaymentFileError(f"{field} {what}.")
    return text


def check_identifier(value: str, *, field: str, max_length: int = 35) -> str:
    """An identifier as it is, or PaymentFileError: never cut, never changed."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise PaymentFileError(f"{field}: {value!r} is not an identifier (empty or with spaces around it).")
    if len(value) > max_length:
        raise PaymentFileError(f"{field}: {value!r} is {len(value)} characters long; the most is {max_length}.")
    if not value.isprintable():
        raise PaymentFileError(f"{field}: {value!r} holds a control character.")
    return value


def check_iban(value: str, *, field: str) -> str:
    compact = value.replace(" ", "").upper() if isinstance(value, str) else ""
    if not _IBAN.match(compact):
        raise PaymentFileError(f"{field}: {value!r} is not an IBAN.")
    return compact


def check_bic(value: str, *, field: str) -> str:
    if not isinstance(value, str) or not _BIC.match(value):
        raise PaymentFileError(f"{field}: {value!r} is not a BIC (8 or 11 letters and digits).")
    return value


def check_msisdn(value: str, *, field: str) -> str:
    if not isinstance(value, str) or not _E164.match(value):
        raise PaymentFileError(f"{field}: {value!r} is not a phone number in E.164 form (+8801712345678).")
    return value


def amount_formatter(currency: str):
    """A function that writes an amount of `currency` exactly, with the currency's minor unit as its decimals
    (BDT 5000.00, JPY 5000, KWD 12.500), or raises PaymentFileError for an amount that is not a positive Decimal
    already rounded to that unit. Made once per file so the per-row cost is one quantize and one format."""
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise PaymentFileError(f"currency: {currency!r} is not an ISO 4217 code.")
    places = minor_units(currency)
    unit = Decimal(1).scaleb(-places)
    spec = f".{places}f"

    def format_amount(amount: Decimal, *, field: str) -> str:
        if type(amount) is not Decimal:
            # A float would carry a binary fraction into a payment; an int is fine but must be said as a Decimal.
            raise PaymentFileError(f"{field}: the amount must be a Decimal, not {type(amount).__name__} {amount!r}.")
        try:
            exact = amount.quantize(unit)
        except InvalidOperation:
            exact = None
        if exact is None or not amount.is_finite():
            raise PaymentFileError(f"{field}: {amount} is not an amount.")
        if exact != amount:
            raise PaymentFileError(f"{field}: {amount} has more decimals than {currency} allows ({places}).")
        if not amount > 0 or amount > MAX_AMOUNT:
            raise PaymentFileError(f"{field}: {amount} {currency} is not between 0 (excluded) and {MAX_AMOUNT}.")
        return format(exact, spec)

    return format_amount


def format_total(total: Decimal, currency: str, *, field: str) -> str:
    """A control sum (DecimalNumber: at most 18 digits) with the currency's decimals."""
    if type(total) is not Decimal:
        raise PaymentFileError(f"{field}: the total must be a Decimal, not {type(total).__name__} {total!r}.")
    places = minor_units(currency)
    text = format(total.quantize(Decimal(1).scaleb(-places)), f".{places}f")
    if sum(c.isdigit() for c in text) > 18:
        raise PaymentFileError(f"{field}: {text} has more than the 18 digits a control sum may have; split the file.")
    return text


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will show as text: one that would start a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text
