"""registry_household_members, the per-household member count kept by triggers: equal to a recount after every way
the registry changes (factories, the bulk import, the demo loader, moves, deletes, status changes, concurrent
transactions), and rebuilt to the same numbers."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction

from registry.importing import ImportOptions, registry_import_file, rows_to_csv
from registry.models import Household, HouseholdMembers, Individual, Membership
from registry.services import household_members_rebuild
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory

pytestmark = pytest.mark.django_db

RECOUNT = """
    SELECT m.household_id, count(*) AS n, max(i.birth_date) AS youngest, min(i.birth_date) AS oldest
    FROM registry_membership m JOIN registry_individual i ON i.id = m.individual_id
    WHERE m.end_date IS NULL AND i.status = 'active' GROUP BY m.household_id
"""


def summary_mismatches() -> list[tuple]:
    """(household, summary, recount) wherever they differ (the count, or the youngest and oldest birth dates), and
    (household, summary, None) for a summary row whose household is gone. A household without a row counts 0."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT h.id, (coalesce(s.members, 0), s.youngest, s.oldest)::text, (coalesce(c.n, 0), c.youngest,
                c.oldest)::text
            FROM registry_household h
            LEFT JOIN registry_household_members s ON s.household_id = h.id
            LEFT JOIN ({RECOUNT}) c ON c.household_id = h.id
            WHERE coalesce(s.members, 0) <> coalesce(c.n, 0)
               OR (s.household_id IS NOT NULL AND (s.youngest, s.oldest) IS DISTINCT FROM (c.youngest, c.oldest))
            UNION ALL
            SELECT s.household_id, s.members::text, NULL FROM registry_household_members s
            WHERE NOT EXISTS (SELECT 1 FROM registry_household h WHERE h.id = s.household_id)
            ORDER BY 1
            """
        )
        return cursor.fetchall()


def summary() -> dict[int, int]:
    """The summary's households with anyone counting (rows left at 0 by deletes mean the same as no row)."""
    return dict(HouseholdMembers.objects.exclude(members=0).values_list("household_id", "members"))


def members_of(household: Household) -> int:
    row = HouseholdMembers.objects.filter(household_id=household.pk).first()
    return row.members if row else 0


def family(size: int, *, household: Household | None = None, **individual) -> tuple[Household, list[Individual]]:
    household = household or HouseholdFactory()
    people = [IndividualFactory(**individual) for _ in range(size)]
    for person in people:
        MembershipFactory(household=household, individual=person, role="head" if person is people[0] else "child")
    return household, people


def test_factory_registry_counts_open_memberships_of_active_individuals_only():
    household, _ = family(4)
    family(1, household=household, status="deceased")
    closed = MembershipFactory(household=household, end_date=household.registered_on)
    other, _ = family(2)
    empty = HouseholdFactory()

    assert (members_of(household), members_of(other), members_of(empty)) == (4, 2, 0)
    assert Individual.objects.filter(memberships=closed).get().status == "active"
    assert summary_mismatches() == []


def test_moving_a_member_between_households():
    first, people = family(3)
    second, _ = family(2)
    mover = people[1]
    # The way the services move someone: close the old membership, open a new one.
    Membership.objects.filter(individual=mover, end_date__isnull=True).update(end_date=first.registered_on)
    MembershipFactory(household=second, individual=mover)
    assert (members_of(first), members_of(second)) == (2, 3)

    # Or by rewriting the open memberships' household, several at once.
    Membership.objects.filter(household=second, end_date__isnull=True).update(household=first)
    assert (members_of(first), members_of(second)) == (5, 0)
    # A new role changes nobody's count.
    Membership.objects.filter(household=first).update(role="other_relative")
    assert members_of(first) == 5
    # Closing every open membership at once.
    Membership.objects.filter(household=first, end_date__isnull=True).update(end_date=first.registered_on)
    assert members_of(first) == 0
    assert summary_mismatches() == []


def test_status_changes_one_by_one_and_in_bulk():
    household, people = family(5)
    people[0].status = "deceased"
    people[0].save()
    assert members_of(household) == 4
    Individual.objects.filter(pk__in=[p.pk for p in people[1:3]]).update(status="moved")
    assert members_of(household) == 2
    # Changes that keep the status, or move between statuses that do not count, change nothing.
    Individual.objects.filter(pk__in=[p.pk for p in people]).update(given_name="Renamed")
    Individual.objects.filter(pk=people[0].pk).update(status="inactive")
    assert members_of(household) == 2
    Individual.objects.filter(pk__in=[p.pk for p in people]).update(status="active")
    assert members_of(household) == 5
    assert summary_mismatches() == []


def test_deletes_in_any_order():
    household, people = family(4)
    Membership.objects.filter(individual=people[0]).delete()
    assert members_of(household) == 3
    people[1].delete()  # Django deletes the membership first
    assert members_of(household) == 2
    # Foreign keys are deferred: SQL may delete the person before their membership, or the household before its
    # memberships, within one transaction.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_individual WHERE id = %s", [people[2].pk])
        assert members_of(household) == 1
        cursor.execute("DELETE FROM registry_membership WHERE individual_id = %s", [people[2].pk])
        assert members_of(household) == 1

        gone, _ = family(3)
        cursor.execute("DELETE FROM registry_household WHERE id = %s", [gone.pk])
        cursor.execute("DELETE FROM registry_membership WHERE household_id = %s", [gone.pk])
    assert not HouseholdMembers.objects.filter(household_id=gone.pk).exists()
    household.delete()
    assert not HouseholdMembers.objects.filter(household_id=household.pk).exists()
    assert summary_mismatches() == []


def test_memberships_written_before_their_individuals_count_once_both_exist():
    household = HouseholdFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('registry_individual', 'id')) FROM generate_series(1, 3)")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO registry_membership (household_id, individual_id, role, start_date)"
            " SELECT %s, unnest(%s::bigint[]), 'child', current_date",
            [household.pk, ids],
        )
        assert members_of(household) == 0
        cursor.execute(
            "INSERT INTO registry_individual (id, given_name, family_name, sex, disability, created_at, updated_at,"
            " status) SELECT unnest(%s::bigint[]), 'A', 'B', 'F', false, now(), now(),"
            " unnest(ARRAY['active', 'active', 'deceased'])",
            [ids],
        )
    assert members_of(household) == 2
    assert summary_mismatches() == []


def test_truncating_memberships_leaves_nobody_counting():
    family(3)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred foreign-key checks
        cursor.execute("TRUNCATE registry_membership")
    assert summary() == {} and summary_mismatches() == []


# The import: staged COPY, then set-based merges ------------------------------------------------------------------

HEADER = ["hh", "person", "first", "last", "dob", "sex", "role", "state", "lon", "lat"]
MAPPING = {
    "household_id": "hh",
    "individual_id": "person",
    "given_name": "first",
    "family_name": "last",
    "birth_date": "dob",
    "status": "state",
    "longitude": "lon",
    "latitude": "lat",
}


def import_rows(tmp_path, rows, name):
    path = tmp_path / name
    path.write_text(rows_to_csv(HEADER, rows))
    result = registry_import_file(path=path, options=ImportOptions(source="survey", mapping=MAPPING))
    assert result.rejected_rows == 0
    return result


def survey(households: int) -> list[list[str]]:
    rows = []
    for h in range(households):
        for p in range(1 + h % 5):
            rows.append(
                [
                    f"HH{h}",
                    f"P{h}-{p}",
                    f"Name{p}",
                    f"Family{h}",
                    "1990-01-01",
                    "F" if p % 2 else "M",
                    "head" if p == 0 else "child",
                    "deceased" if (h, p) == (4, 4) else "active",
                    "90.5",
                    "23.5",
                ]
            )
    return rows


def test_bulk_import_and_a_reimport_with_moves_and_status_changes(tmp_path, two_districts):
    rows = survey(60)
    result = import_rows(tmp_path, rows, "first.csv")
    assert (result.households_created, result.individuals_created) == (60, len(rows))
    counts = summary()
    by_external = dict(Household.objects.values_list("external_id", "id"))
    assert counts[by_external["HH3"]] == 4 and counts[by_external["HH4"]] == 4  # one of its five is deceased
    assert summary_mismatches() == []

    changed = [row[:] for row in rows]
    for row in changed:
        if row[1] == "P3-1":
            row[0] = "HH1"  # moved from HH3 to HH1
        if row[1] == "P4-4":
            row[7] = "active"
        if row[1] == "P2-0":
            row[7] = "deceased"
    result = import_rows(tmp_path, changed, "second.csv")
    assert (result.memberships_closed, result.memberships_opened) == (1, 1)
    counts = summary()
    assert (counts[by_external["HH1"]], counts[by_external["HH3"]], counts[by_external["HH4"]]) == (3, 3, 5)
    assert counts[by_external["HH2"]] == 2
    assert summary_mismatches() == []


def test_demo_loader(two_districts):
    from registry.demo import load_demo_households

    counts = load_demo_households(120, seed=5, chunk=50, workers=1)
    assert sum(summary().values()) == counts["individuals"]
    assert len(summary()) == counts["households"] == 120
    assert summary_mismatches() == []


# Rebuild ----------------------------------------------------------------------------------------------------------


def test_rebuild_gives_the_same_table_and_repairs_a_damaged_one():
    household, people = family(3)
    family(2)
    Individual.objects.filter(pk=people[0].pk).update(status="deceased")
    Membership.objects.filter(individual=people[1]).delete()
    kept = summary()
    assert household_members_rebuild() == len(kept)
    assert summary() == kept

    HouseholdMembers.objects.filter(household=household).update(members=99)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO registry_household_members (household_id, members) VALUES (-1, 7)")
    assert len(summary_mismatches()) == 2
    call_command("rebuild_member_summary", verbosity=0)
    assert summary() == kept and summary_mismatches() == []


# Concurrency ------------------------------------------------------------------------------------------------------


def _connect() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )


def _waiting_on_a_lock(pid: int) -> bool:
    with _connect() as watcher:
        row = watcher.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("existing", [2, 0], ids=["household-with-members", "household-without-a-row"])
def test_two_transactions_adding_members_to_one_household_both_count(existing):
    with transaction.atomic():
        household, _ = family(existing)
        newcomers = [IndividualFactory().pk for _ in range(2)]
    insert = (
        "INSERT INTO registry_membership (household_id, individual_id, role, start_date)"
        " VALUES (%s, %s, 'child', current_date)"
    )
    first, second = _connect(), _connect()
    try:
        first.execute(insert, [household.pk, newcomers[0]])  # holds the summary row until it commits
        second_pid = second.info.backend_pid
        errors: list[BaseException] = []

        def add_second() -> None:
            try:
                second.execute(insert, [household.pk, newcomers[1]])
                second.commit()
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        thread = threading.Thread(target=add_second)
        thread.start()
        deadline = time.monotonic() + 10
        while not _waiting_on_a_lock(second_pid):
            assert time.monotonic() < deadline, "the second transaction never waited for the first"
            time.sleep(0.05)
        first.commit()
        thread.join(timeout=10)
        assert not thread.is_alive() and errors == []
    finally:
        first.close()
        second.close()
    assert members_of(household) == existing + 2
    assert summary_mismatches() == []


def test_the_youngest_and_oldest_follow_births_corrections_moves_and_deaths():
    import datetime

    household, (first, second, third) = family(3)
    Individual.objects.filter(pk=first.pk).update(birth_date=datetime.date(2024, 5, 1))
    Individual.objects.filter(pk=second.pk).update(birth_date=datetime.date(1950, 1, 2))
    Individual.objects.filter(pk=third.pk).update(birth_date=None)
    row = HouseholdMembers.objects.get(household=household)
    assert (row.youngest, row.oldest) == (datetime.date(2024, 5, 1), datetime.date(1950, 1, 2))
    # The child moves out: the youngest is now the only other dated member.
    elsewhere = HouseholdFactory()
    Membership.objects.filter(individual=first).update(household=elsewhere)
    row.refresh_from_db()
    assert (row.youngest, row.oldest) == (datetime.date(1950, 1, 2), datetime.date(1950, 1, 2))
    assert HouseholdMembers.objects.get(household=elsewhere).youngest == datetime.date(2024, 5, 1)
    # The elder is no longer active (a recorded death): nobody dated is left, one person still counts.
    Individual.objects.filter(pk=second.pk).update(status="deceased")
    row.refresh_from_db()
    assert (row.members, row.youngest, row.oldest) == (1, None, None)
    assert summary_mismatches() == []
