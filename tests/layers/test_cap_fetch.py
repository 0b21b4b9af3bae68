"""CAP alerts fetched by URL reach only configured feed hosts or public addresses: the server cannot be pointed at
itself, its network or cloud metadata, not through a redirect either, and its errors do not tell open ports from
closed ones."""

import socket

import pytest
from django.core.exceptions import ValidationError

from layers.models import LayerImport
from layers.services import cap_fetch

pytestmark = pytest.mark.django_db


def refusal(url: str) -> str:
    with pytest.raises(ValidationError) as caught:
        cap_fetch(url)
    return caught.value.message_dict["url"][0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_local_server_is_refused_without_being_contacted(http_server):
    http_server.routes["/alert.xml"] = (200, {}, b"<alert/>")
    for host in ("127.0.0.1", "localhost"):
        assert "is not allowed" in refusal(http_server.url("/alert.xml", host=host))
    assert "is not allowed" in refusal(f"http://2130706433:{http_server.server_address[1]}/alert.xml")  # 127.0.0.1
    assert http_server.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.1.2.3/feed.xml",
        "http://192.168.1.1/feed.xml",
        "http://[::1]/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
        "http://0.0.0.0/feed.xml",
        "http://224.0.0.1/feed.xml",
    ],
)
def test_internal_targets_are_refused(url):
    assert "is not allowed" in refusal(url)


def test_an_open_and_a_closed_port_get_the_same_words(http_server):
    open_url = http_server.url("/alert.xml")
    closed_url = f"http://127.0.0.1:{closed_port()}/alert.xml"
    assert refusal(open_url) == refusal(closed_url)
    assert refusal(open_url).startswith("The address 127.0.0.1 is not allowed")


def test_a_configured_feed_host_is_fetched_and_its_redirects_are_checked_again(http_server, settings):
    settings.SPMIS = {**settings.SPMIS, "CAP_FEED_HOSTS": ["localhost"]}
    http_server.routes["/alert.xml"] = (200, {}, b"<alert/>")
    assert cap_fetch(http_server.url("/alert.xml", host="localhost")) == b"<alert/>"
    # A redirect to the same server under a name that is not configured is refused before it is followed.
    http_server.routes["/moved"] = (302, {"Location": http_server.url("/alert.xml", host="127.0.0.1")}, b"")
    assert "is not allowed" in refusal(http_server.url("/moved", host="localhost"))
    assert http_server.hits == ["/alert.xml", "/moved"]
    # A configured host whose port is closed: one message for every way of failing to connect.
    assert refusal(f"http://localhost:{closed_port()}/x") == "Could not fetch the alert from localhost."


def test_other_schemes_and_credentials_are_refused():
    assert "http://" in refusal("file:///etc/passwd")
    assert "user name" in refusal("http://user:secret@alerts.example.org/feed.xml")


def test_the_api_job_fails_with_the_refusal(client_for, django_capture_on_commit_callbacks, http_server):
    client = client_for(roles=["emergency_coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/layers/layer-imports/", {"kind": "cap", "url": http_server.url("/alert.xml")}, format="json"
        )
    job = LayerImport.objects.get(pk=response.json()["id"])
    assert job.status == "failed"
    assert "is not allowed" in str(job.error)
    assert http_server.hits == []
