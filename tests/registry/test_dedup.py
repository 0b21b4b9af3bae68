import pytest
from django.contrib.gis.geos import Point

from registry.dedup import DedupOptions, dedup_find, pair_score
from registry.models import DuplicateCandidate, Individual
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.registry.factories import IdTypeFactory

pytestmark = pytest.mark.django_db


def test_pair_score_prefers_similar_names_close_together():
    options = DedupOptions()
    close, _ = pair_score(
        name_a="rahim uddin", name_b="rahim udin", same_birth_date=True, distance_m=50, reasons=[], options=options
    )
    far, _ = pair_score(
        name_a="rahim uddin", name_b="karim khan", same_birth_date=False, distance_m=1900, reasons=[], options=options
    )
    assert close > 0.9 > 0.5 > far


def test_duplicate_pair_is_found_reviewed_and_merged(two_districts, client_for, django_capture_on_commit_callbacks):
    first_home = HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    second_home = HouseholdFactory(location=Point(90.5005, 23.5005, srid=4326))
    original = IndividualFactory(given_name="Rahim", family_name="Uddin", birth_date="1980-05-01")
    copy = IndividualFactory(given_name="Rahim", family_name="Udin", birth_date="1980-05-01", wg_hearing=3)
    stranger = IndividualFactory(given_name="Fatema", family_name="Begum", birth_date="1980-05-01")
    for home, person in ((first_home, original), (second_home, copy), (first_home, stranger)):
        MembershipFactory(household=home, individual=person, role="head" if person is not stranger else "spouse")
    copy.phones.create(number="+8801712345678")
    copy.documents.create(id_type=IdTypeFactory(), number="1234567890")

    client = client_for(roles=["program_officer"])
    with django_capture_on_commit_callbacks(execute=True):
        run = client.post("/api/v1/registry/dedup-runs/", {}, format="json")
    assert run.status_code == 202
    assert client.get(f"/api/v1/registry/dedup-runs/{run.json()['id']}/").json()["status"] == "succeeded"
    queue = client.get("/api/v1/registry/duplicates/", {"status": "pending"}).json()["results"]
    assert [(c["first"], c["second"]) for c in queue] == [(original.pk, copy.pk)]
    assert "similar_name_same_area" in queue[0]["reasons"]

    pair = queue[0]["id"]
    assert client.post(f"/api/v1/registry/duplicates/{pair}/merge/").status_code == 400  # not confirmed yet
    assert client.post(f"/api/v1/registry/duplicates/{pair}/confirm/").json()["status"] == "confirmed"
    merged = client.post(f"/api/v1/registry/duplicates/{pair}/merge/").json()
    assert merged["status"] == "merged"
    assert merged["merge_result"]["moved_documents"] == ["nid:1234567890"]

    copy.refresh_from_db()
    original.refresh_from_db()
    assert copy.merged_into_id == original.pk and copy.status == "inactive"
    assert list(original.phones.values_list("number", flat=True)) == ["+8801712345678"]
    assert original.wg_hearing == 3 and original.disability is True
    assert not copy.memberships.filter(end_date__isnull=True).exists()
    # An auditor sees the decision, not the documents and phones the merge moved.
    audited = client_for(roles=["auditor"]).get(f"/api/v1/registry/duplicates/{pair}/").json()
    assert audited["status"] == "merged" and "merge_result" not in audited
    # A second run does not bring the merged pair back.
    dedup_find(options=DedupOptions())
    assert DuplicateCandidate.objects.filter(status="pending").count() == 0
    assert Individual.objects.get(registrant_id=copy.registrant_id).merged_into == original


def test_oversized_name_blocks_fall_back_to_other_blockers(two_districts):
    home = HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    for given in ("Rahim", "Rahem"):
        MembershipFactory(
            household=home, individual=IndividualFactory(given_name=given, family_name="Uddin", birth_date="1980-05-01")
        )
    result = dedup_find(options=DedupOptions(max_block=1))
    assert result.oversized_name_blocks == 1
    assert result.by_reason == {"same_birth_date_nearby": 1}
    assert DuplicateCandidate.objects.get().reasons == ["same_birth_date_nearby"]


def test_a_scoped_users_run_compares_only_the_people_in_their_areas(
    two_districts, client_for, django_capture_on_commit_callbacks
):
    pairs = {}
    for side, lon in (("west", 90.5), ("east", 91.5)):
        home = HouseholdFactory(location=Point(lon, 23.5, srid=4326))
        near = HouseholdFactory(location=Point(lon + 0.0005, 23.5005, srid=4326))
        a = IndividualFactory(given_name="Rahim", family_name="Uddin", birth_date="1980-05-01")
        b = IndividualFactory(given_name="Rahim", family_name="Udin", birth_date="1980-05-01")
        MembershipFactory(household=home, individual=a)
        MembershipFactory(household=near, individual=b)
        pairs[side] = (a.pk, b.pk)
    west = client_for(roles=["program_officer"], areas=[two_districts[1]])
    with django_capture_on_commit_callbacks(execute=True):
        run = west.post("/api/v1/registry/dedup-runs/", {}, format="json")
    assert run.status_code == 202
    assert list(DuplicateCandidate.objects.values_list("first", "second")) == [pairs["west"]]
