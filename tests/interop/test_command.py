import json

import pytest
from django.core.management import CommandError, call_command

from interop.dci.models import DCISender
from tests.interop.sender import Sender, expression, search_message

pytestmark = pytest.mark.django_db


def test_register_then_search_then_disable(tmp_path, post, capsys, two_districts):
    sender = Sender("ngo-platform")
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(sender.jwks()))
    call_command(
        "dci_sender",
        "register",
        "--sender-id",
        "ngo-platform",
        "--jwks",
        str(path),
        "--area",
        "C-W",
        "--callback-host",
        "ngo.example.org",
    )
    assert "Registered ngo-platform (keys k1" in capsys.readouterr().out
    row = DCISender.objects.get()
    assert row.callback_hosts == ["ngo.example.org"] and not row.service_user.has_usable_password()
    assert (
        post("/sync/search", sender.envelope(search_message(expression("household_size", "ge", 1)))).status_code == 200
    )
    call_command("dci_sender", "disable", "--sender-id", "ngo-platform")
    assert (
        post("/sync/search", sender.envelope(search_message(expression("household_size", "ge", 1)))).status_code == 403
    )


@pytest.mark.parametrize(
    ("jwks", "words"),
    [
        ({"keys": []}, "at least one key"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "kid": "a", "x": "AA"}]}, "not an Ed25519"),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "a", "x": "AA"}]}, "32-byte"),
        ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"}]}, "kid"),
    ],
)
def test_bad_key_sets_are_refused_in_words(tmp_path, jwks, words):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(jwks))
    with pytest.raises(CommandError, match=words):
        call_command("dci_sender", "register", "--sender-id", "x", "--jwks", str(path))
    assert not DCISender.objects.exists()


def test_a_private_key_is_refused(tmp_path):
    sender = Sender("x")
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{**sender.key.as_dict(private=True), "kid": "k1"}]}))
    with pytest.raises(CommandError, match="private part"):
        call_command("dci_sender", "register", "--sender-id", "x", "--jwks", str(path))
