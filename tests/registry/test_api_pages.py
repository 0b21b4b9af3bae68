"""Registry-scale lists: pages built in SQL match the serializers field for field, keyset paging through `next`,
page numbers still work, counts turn into flagged estimates above the limit, and the number of queries per page is
pinned (a query per row or per member fails)."""

import json

import pytest
from django.contrib.gis.geos import Point
from rest_framework.renderers import JSONRenderer

from registry import selectors
from registry.api import serializers as s
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.registry.factories import IdTypeFactory

pytestmark = pytest.mark.django_db
HOUSEHOLDS = "/api/v1/registry/households/"
INDIVIDUALS = "/api/v1/registry/individuals/"


def as_json(data):
    return json.loads(JSONRenderer().render(data))


@pytest.fixture
def registry(two_districts):
    """Five households in the west district (two members each, the head with a phone and a document), one with
    no location (so in no area, seen by national users only) and one in the east."""
    _, west, east = two_districts
    id_type = IdTypeFactory()
    homes = []
    for n in range(6):
        home = HouseholdFactory(
            location=None if n == 3 else Point(90.25 + n / 10, 23.5, srid=4326),
            address=f"Ward {n}",
            custom={"roof": "tin", "n": n},
        )
        for role in ("head", "spouse"):
            person = IndividualFactory(custom={"livelihood": "fishing"})
            MembershipFactory(household=home, individual=person, role=role)
            if role == "head":
                person.phones.create(number=f"+88017123456{n:02d}")
                person.documents.create(id_type=id_type, number=f"12345678{n:02d}")
        homes.append(home)
    MembershipFactory(household=HouseholdFactory(location=Point(91.5, 23.5, srid=4326)))
    return {"west": west, "east": east, "homes": homes}


def test_household_page_matches_the_serializer(registry, client_for):
    client = client_for(roles=["program_officer"])
    page = client.get(HOUSEHOLDS).json()
    expected = as_json(s.HouseholdSerializer(selectors.household_list(user=client.user), many=True).data)
    assert page["type"] == "FeatureCollection"
    assert page["features"] == expected["features"]
    assert [f["id"] for f in page["features"]][:6] == [h.pk for h in registry["homes"]]
    assert page["features"][3]["geometry"] is None
    assert [m["role"] for m in page["features"][0]["properties"]["members"]] == ["head", "spouse"]
    one = client.get(f"{HOUSEHOLDS}{registry['homes'][0].pk}/").json()
    assert one == page["features"][0]


def test_individual_page_matches_the_serializer(registry, client_for):
    client = client_for(roles=["program_officer"])
    page = client.get(INDIVIDUALS).json()
    expected = as_json(s.IndividualSerializer(selectors.individual_list(user=client.user), many=True).data)
    assert page["results"] == expected
    assert len(page["results"]) == 13 and page["results"][0]["phones"] and page["results"][0]["documents"]
    first = page["results"][0]
    assert client.get(f"{INDIVIDUALS}{first['id']}/").json() == first
    # A name search is ordered by score, and each row carries its score, as the serializer gives it.
    name = f"{first['given_name']} {first['family_name']}"
    found = client.get(INDIVIDUALS, {"q": name}).json()
    search = selectors.RegistrySearch(name=name)
    expected = as_json(
        s.IndividualSerializer(selectors.individual_list(user=client.user, search=search)[:100], many=True).data
    )
    assert found["results"] == expected and found["results"][0]["name_score"] == pytest.approx(1.0)


def test_single_reads_stay_inside_scope(registry, client_for):
    client = client_for(roles=["program_officer"], areas=[registry["east"]])
    west_home = registry["homes"][0]
    assert client.get(f"{HOUSEHOLDS}{west_home.pk}/").status_code == 404
    assert client.get(f"{INDIVIDUALS}{west_home.memberships.first().individual_id}/").status_code == 404
    assert client.get(f"{HOUSEHOLDS}abc/").status_code == 404
    assert client.get(f"{HOUSEHOLDS}99999999999999999999/").status_code == 404


@pytest.mark.parametrize("path", [HOUSEHOLDS, INDIVIDUALS])
def test_keyset_pages_follow_next_links(registry, client_for, path):
    client = client_for(roles=["program_officer"], areas=[registry["west"]])
    key = "features" if path == HOUSEHOLDS else "results"
    every = [row["id"] for row in client.get(path).json()[key]]
    seen, url, pages = [], f"{path}?page_size=3", 0
    while url:
        body = client.get(url).json()
        assert body["count"] == len(every) and body["count_is_estimate"] is False
        seen += [row["id"] for row in body[key]]
        url = body["next"]
        assert url is None or "after=" in url
        pages += 1
    assert seen == every and pages == -(-len(every) // 3)
    # Page numbers still work, and agree with the keyset pages.
    numbered = client.get(path, {"page_size": 2, "page": 2}).json()
    assert [row["id"] for row in numbered[key]] == every[2:4]
    assert "page=3" in numbered["next"] and "page=" not in numbered["previous"]
    for bad in ({"after": "x"}, {"after": every[0], "page": 2}, {"page": 0}, {"page_size": "many"}):
        response = client.get(path, bad)
        assert response.status_code == 400, (bad, response.content)
        assert set(response.json()) & {"after", "page", "page_size"}


@pytest.mark.parametrize("path", [HOUSEHOLDS, INDIVIDUALS])
def test_count_is_an_estimate_above_the_limit(registry, client_for, settings, path):
    from django.db import connection

    with connection.cursor() as cursor:  # statistics, as autovacuum would have them, so the planner's guess is sane
        cursor.execute("ANALYZE registry_household, registry_individual, registry_membership")
    client = client_for(roles=["program_officer"])
    settings.SPMIS = {**settings.SPMIS, "API_EXACT_COUNT_LIMIT": 3}
    body = client.get(path, {"page_size": 2}).json()
    assert body["count_is_estimate"] is True and body["count"] >= 4
    settings.SPMIS = {**settings.SPMIS, "API_EXACT_COUNT_LIMIT": 100}
    body = client.get(path, {"page_size": 2}).json()
    total = 7 if path == HOUSEHOLDS else 13
    assert body["count_is_estimate"] is False and body["count"] == total


@pytest.mark.parametrize(
    ("path", "queries"),
    # Token, the user's areas and the areas inside them, their permissions (2), the audit context; then the planner's
    # estimate, the bounded count, page keys and page JSON for a list, or one statement (visibility checked inside
    # it) for a single read.
    [(HOUSEHOLDS, 10), (INDIVIDUALS, 10), (f"{HOUSEHOLDS}{{home}}/", 7), (f"{INDIVIDUALS}{{person}}/", 7)],
)
def test_queries_per_page_are_pinned(registry, client_for, django_assert_num_queries, path, queries):
    client = client_for(roles=["program_officer"], areas=[registry["west"]])
    home = registry["homes"][0]
    url = path.format(home=home.pk, person=home.memberships.first().individual_id)
    client.get(url)
    for n in range(10):  # more members, phones and documents change nothing
        person = IndividualFactory()
        MembershipFactory(household=home, individual=person, role="child")
        person.phones.create(number=f"+88018123456{n:02d}")
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
