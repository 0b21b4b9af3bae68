"""Signed voucher codes: what is signed verifies, anything altered, mistyped or signed with an unknown key is
refused in words."""

import pytest
from django.core.exceptions import ValidationError

from distribution.redemption import vouchers

CODE = "ENT-0000000042-6"


def test_a_signed_voucher_verifies_and_names_its_entitlement():
    text = vouchers.sign(CODE)
    assert text.startswith("SPV1.dev.ENT-0000000042-6.")
    assert vouchers.verify(text).entitlement_code == CODE


def test_typing_mistakes_in_case_and_spacing_are_forgiven():
    text = vouchers.sign(CODE)
    head, signature = text.rsplit(".", 1)
    typed = f"  {head.lower()}.{signature[:4].lower()} {signature[4:8]}-{signature[8:]}  "
    assert vouchers.verify(typed).entitlement_code == CODE


@pytest.mark.parametrize(
    ("alter", "words"),
    [
        (lambda t: t.replace("0042", "0043"), "signature does not match"),
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "signature does not match"),
        (lambda t: t.replace("SPV1.dev.", "SPV1.old."), "key 'old'"),
        (lambda t: "ENT-0000000042-6", "not a voucher code"),
        (lambda t: "", "Scan or type"),
    ],
)
def test_altered_or_foreign_vouchers_are_refused(alter, words):
    with pytest.raises(ValidationError) as error:
        vouchers.verify(alter(vouchers.sign(CODE)))
    assert words in " ".join(error.value.message_dict["voucher"])


def test_keys_come_from_settings_the_first_signs_and_all_verify(settings):
    old = vouchers.sign(CODE)
    settings.SPMIS_VOUCHER_KEYS = [("k2", b"a new key of 32 bytes, say......"), ("dev", vouchers._keys()[0][1])]
    # (the development key is read before the setting replaces it)
    new = vouchers.sign(CODE)
    assert new.startswith("SPV1.k2.") and new != old
    assert vouchers.verify(new).entitlement_code == CODE
    settings.SPMIS_VOUCHER_KEYS = [("k2", b"a new key of 32 bytes, say......")]
    with pytest.raises(ValidationError, match="does not hold"):
        vouchers.verify(old)
