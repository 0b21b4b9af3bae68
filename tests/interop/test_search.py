"""Searching through DCI: queries by identifier and by expression, pagination, sort, consent, personal data and
areas, each as the sender's service user may see them."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from interop.dci.models import DCITransaction
from registry.models import IdDocument, IdType
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.interop.sender import expression, search_message

pytestmark = pytest.mark.django_db


def years_ago(years: int, days: int = 0) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - datetime.timedelta(days=days)


@pytest.fixture
def registry(two_districts):
    """West: a household of 3 (a mother, a father, a baby) and one of 1; east: a household of 6 with two under 5."""
    _, west, east = two_districts
    national = IdType.objects.create(code="national-id", name="National ID")
    w1 = HouseholdFactory(location=Point(90.5, 23.5, srid=4326), address="12 West Road")
    mother = IndividualFactory(given_name="Amina", sex="F", birth_date=years_ago(30))
    MembershipFactory(household=w1, individual=mother, role="head")
    MembershipFactory(household=w1, individual=IndividualFactory(sex="M", birth_date=years_ago(35)), role="spouse")
    MembershipFactory(household=w1, individual=IndividualFactory(sex="F", birth_date=years_ago(1)), role="child")
    IdDocument.objects.create(individual=mother, id_type=national, number="847951632")
    w2 = HouseholdFactory(location=Point(90.6, 23.6, srid=4326))
    MembershipFactory(household=w2, individual=IndividualFactory(sex="M", birth_date=years_ago(70)), role="head")
    e1 = HouseholdFactory(location=Point(91.5, 23.5, srid=4326))
    for age in (40, 38, 12, 8, 4, 2):
        MembershipFactory(household=e1, individual=IndividualFactory(birth_date=years_ago(age, 10)), role="child")
    return {"w1": w1, "w2": w2, "e1": e1, "mother": mother, "west": west, "east": east}


def search(post, sender, message, path="/sync/search"):
    response = post(path, sender.envelope(message))
    assert response.status_code == 200, response.content
    (entry,) = response.json()["message"]["search_response"]
    return entry


def group_ids(entry) -> set[str]:
    return {r["group_identifier"][0]["identifier_value"] for r in entry["data"]["reg_records"]}


def test_by_national_id_finds_the_person_with_personal_data_when_allowed(make_sender, post, registry):
    sender = make_sender(personal=True)
    entry = search(post, sender, search_message({"type": "UIN", "value": "847951632"}, query_type="idtype-value"))
    assert entry["status"] == "succ"
    (record,) = entry["data"]["reg_records"]
    assert record["name"]["given_name"] == "Amina"
    assert {"identifier_type": "national-id", "identifier_value": "847951632"} in record["identifier"]
    assert record["household_identifier"] == registry["w1"].registrant_id
    assert entry["pagination"] == {"page_size": 10, "page_number": 1, "total_count": 1}


def test_without_personal_data_an_identifier_search_is_refused_and_records_carry_no_names(make_sender, post, registry):
    sender = make_sender(personal=False)
    entry = search(post, sender, search_message({"type": "UIN", "value": "847951632"}, query_type="idtype-value"))
    assert entry["status"] == "rjct" and entry["status_reason_code"] == "rjct.search_criteria.invalid"
    assert "personal-data permission" in entry["status_reason_message"]
    entry = search(post, sender, search_message(expression("household_size", "eq", 3)))
    (record,) = entry["data"]["reg_records"]
    text = str(record)
    assert "Amina" not in text and "847951632" not in text and "West Road" not in text and "birth_date" not in text
    assert "place" not in record
    assert {m["demographic_info"]["sex"] for m in record["member_list"]} == {"female", "male"}


def test_by_identifier_in_an_expression_list(make_sender, post, registry):
    sender = make_sender(personal=True)
    entry = search(post, sender, search_message(expression("UIN", "eq", "847951632")))
    assert group_ids(entry) == {registry["w1"].registrant_id}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (expression("household_size", "lt", 5), {"w1", "w2"}),
        (expression("household_size", "ge", 3), {"w1", "e1"}),
        (expression("group_size", "in", [1, 6]), {"w2", "e1"}),
        (expression("members_under_5", "ge", 2), {"e1"}),
        (expression("members_under_5", "eq", 0), {"w2"}),
        (expression("area_code", "eq", "C-W"), {"w1", "w2"}),
        (expression("area_code", "in", ["C-E"]), {"e1"}),
        (expression("area_code", "eq", "C"), {"w1", "w2", "e1"}),
        (expression("age", "ge", 65), {"w2"}),
        # Each person-level condition on its own: a member under 5, and a female member (maybe another one).
        (expression("age", "lt", 5, ("sex", "eq", "female")), {"w1", "e1"}),
        (expression("sex", "eq", "male", ("household_size", "eq", 1)), {"w2"}),
        (
            [
                {
                    "seq_num": 1,
                    "expression1": {"attribute_name": "household_size", "operator": "eq", "attribute_value": 1},
                    "condition": "or",
                    "expression2": {"attribute_name": "members_under_5", "operator": "ge", "attribute_value": 2},
                }
            ],
            {"w2", "e1"},
        ),
        (
            [
                {
                    "seq_num": 1,
                    "expression1": {"attribute_name": "household_size", "operator": "le", "attribute_value": 3},
                    "condition": "not",
                    "expression2": {"attribute_name": "area_code", "operator": "eq", "attribute_value": "C-W"},
                }
            ],
            set(),
        ),
        (
            {
                "type": "ns:org:QueryType:NoSql",
                "value": {
                    "expression": {
                        "collection": "Group",
                        "query": {"$and": [{"household_size": {"$lt": 5}}, {"location": {"$eq": "C-W"}}]},
                    }
                },
            },
            {"w1", "w2"},
        ),
        (
            {
                "type": "ns:org:QueryType:NoSql",
                "value": {
                    "expression": {
                        "collection": "Group",
                        "query": {"$or": [{"household_size": {"$gte": 6}}, {"demographic_info.person.sex": "female"}]},
                    }
                },
            },
            {"w1", "e1"},
        ),
    ],
)
def test_expressions_select_households(make_sender, post, registry, query, expected):
    entry = search(post, make_sender(), search_message(query))
    assert entry["status"] == "succ", entry
    assert group_ids(entry) == {registry[key].registrant_id for key in expected}


def test_member_entity_returns_people(make_sender, post, registry):
    sender = make_sender()
    entry = search(post, sender, search_message(expression("age", "lt", 5), entity="Member"))
    assert entry["status"] == "succ"
    assert entry["pagination"]["total_count"] == 3
    assert all(r["@type"] == "SRPerson" for r in entry["data"]["reg_records"])
    entry = search(
        post, sender, search_message(expression("area_code", "eq", "C-W"), entity="member", reference_id="r2")
    )
    assert entry["pagination"]["total_count"] == 4


def test_a_sender_bound_to_an_area_sees_only_that_area(make_sender, post, registry):
    sender = make_sender(areas=["C-W"])
    entry = search(post, sender, search_message(expression("household_size", "ge", 1)))
    assert group_ids(entry) == {registry["w1"].registrant_id, registry["w2"].registrant_id}
    entry = search(post, sender, search_message(expression("area_code", "eq", "C-E")))
    assert entry["status"] == "succ" and entry["data"]["reg_records"] == []
    assert entry["pagination"]["total_count"] == 0


def test_pages_and_sort(make_sender, post, registry):
    sender = make_sender()
    message = search_message(
        expression("household_size", "ge", 1),
        sort=[{"attribute_name": "household_size", "sort_order": "desc"}],
        pagination={"page_size": 2, "page_number": 1},
    )
    first = search(post, sender, message)
    assert [r["group_size"] for r in first["data"]["reg_records"]] == [6, 3]
    assert first["pagination"] == {"page_size": 2, "page_number": 1, "total_count": 3}
    message["search_request"][0]["search_criteria"]["pagination"]["page_number"] = 2
    second = search(post, sender, message)
    assert [r["group_size"] for r in second["data"]["reg_records"]] == [1]


@pytest.mark.parametrize(
    ("criteria", "reason", "words"),
    [
        ({"query": expression("poverty_score", "lt", 5)}, "rjct.search_criteria.invalid", "poverty_score is not"),
        ({"query": expression("household_size", "like", 5)}, "rjct.search_criteria.invalid", "operators"),
        ({"query": expression("household_size", "lt", "five")}, "rjct.search_criteria.invalid", "whole number"),
        ({"query": expression("area_code", "gt", "C")}, "rjct.search_criteria.invalid", "operators eq, in"),
        ({"query": expression("sex", "eq", "W")}, "rjct.search_criteria.invalid", "female, male"),
        ({"query": expression("birth_date", "lt", "2000-01-01")}, "rjct.search_criteria.invalid", "personal-data"),
        ({"query": {"nonsense": 1}}, "rjct.search_criteria.invalid", "expression query is"),
        ({"query_type": "sql", "query": "select 1"}, "rjct.search_criteria.invalid", "query_type"),
        (
            {"query": expression("household_size", "lt", 5), "sort": [{"attribute_name": "poverty_score"}]},
            "rjct.sort.invalid",
            "sort by",
        ),
        (
            {"query": expression("household_size", "lt", 5), "pagination": {"page_size": 5000}},
            "rjct.pagination.invalid",
            "1 to 100",
        ),
        (
            {"query": expression("household_size", "lt", 5), "pagination": {"page_size": 5, "page_number": 0}},
            "rjct.pagination.invalid",
            "page_number",
        ),
    ],
)
def test_criteria_we_cannot_run_are_rejected_with_the_reason(make_sender, post, registry, criteria, reason, words):
    message = search_message(None)
    message["search_request"][0]["search_criteria"].update(criteria)
    entry = search(post, make_sender(), message)
    assert entry["status"] == "rjct" and entry["status_reason_code"] == reason
    assert words in entry["status_reason_message"]
    row = DCITransaction.objects.get()
    assert row.status == "rjct" and row.outcome[0]["status_reason_code"] == reason


def test_a_value_is_only_ever_a_value(make_sender, post, registry):
    sender = make_sender(personal=True)
    entry = search(post, sender, search_message(expression("UIN", "eq", "1' OR '1'='1")))
    assert entry["status"] == "succ" and entry["pagination"]["total_count"] == 0
    entry = search(post, sender, search_message(expression("area_code", "in", ["C-W'); DROP TABLE geo_area; --"])))
    assert entry["status"] == "succ" and entry["pagination"]["total_count"] == 0


def test_consent_is_recorded_and_required_when_the_sender_is_registered_so(make_sender, post, registry):
    consent = {"@type": "Consent", "ts": "2026-12-03T10:00:00Z", "purpose": {"text": "Flood response", "code": "fr"}}
    sender = make_sender(consent_required=True)
    without = post("/sync/search", sender.envelope(search_message(expression("household_size", "ge", 1))))
    assert without.status_code == 400 and "consent" in without.json()["errors"][0]["message"]
    assert not DCITransaction.objects.exists()
    entry = search(post, sender, search_message(expression("household_size", "ge", 1), consent=consent))
    assert entry["status"] == "succ"
    assert DCITransaction.objects.get().consents == [{"reference_id": "r1", "consent": consent}]


def test_several_requests_in_one_message_are_answered_each(make_sender, post, registry):
    sender = make_sender()
    message = search_message(expression("household_size", "eq", 1))
    second = search_message(expression("nope", "eq", 1), reference_id="r2")["search_request"][0]
    message["search_request"].append(second)
    response = post("/sync/search", sender.envelope(message))
    entries = response.json()["message"]["search_response"]
    assert [(e["reference_id"], e["status"]) for e in entries] == [("r1", "succ"), ("r2", "rjct")]
    assert response.json()["header"]["completed_count"] == 1
