import pytest
from django.db import connection

from registry.ids import registrant_id_format, registrant_id_is_valid
from registry.models import Individual
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_registrant_ids_are_generated_in_the_database_with_a_check_digit():
    household = HouseholdFactory()
    person = IndividualFactory()
    assert household.registrant_id.startswith("H") and registrant_id_is_valid(household.registrant_id)
    assert person.registrant_id.startswith("I") and registrant_id_is_valid(person.registrant_id)
    with connection.cursor() as cursor:  # a bulk loader copying only the original columns gets one too
        cursor.execute(
            "INSERT INTO registry_individual (given_name, family_name, sex, disability, created_at, updated_at)"
            " VALUES ('Rahim', 'Uddin', 'M', false, now(), now()) RETURNING registrant_id"
        )
        copied = cursor.fetchone()[0]
    assert registrant_id_is_valid(copied)
    assert copied != person.registrant_id


def test_check_digit_catches_typos():
    good = registrant_id_format("I", 123456789)
    assert registrant_id_is_valid(good)
    assert registrant_id_is_valid(good[:3] + "-" + good[3:].lower().replace("i", "I"))
    typo = good[:4] + str((int(good[4]) + 1) % 10) + good[5:]
    assert not registrant_id_is_valid(typo)
    swapped = good[0] + good[2] + good[1] + good[3:]
    assert good == swapped or not registrant_id_is_valid(swapped)


def test_python_and_sql_check_digits_agree():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n, registry_format_registrant_id('H', n) FROM unnest(%s::bigint[]) n", [[7, 42, 987654321]]
        )
        for serial, formatted in cursor.fetchall():
            assert formatted == registrant_id_format("H", serial)


def test_disability_follows_washington_group_domains():
    person = IndividualFactory(wg_walking=3, wg_seeing=1)
    person.refresh_from_db()
    assert person.disability is True
    person.wg_walking = 2
    person.save()
    person.refresh_from_db()
    assert person.disability is False
    plain = IndividualFactory(disability=True)
    plain.refresh_from_db()
    assert plain.disability is True  # no domains recorded: the flag given is kept
    assert plain.is_pregnant is False and plain.status == Individual._meta.get_field("status").default


def test_household_without_point_is_approximate():
    household = HouseholdFactory(location=None)
    household.refresh_from_db()
    assert household.area_approximate is True
    located = MembershipFactory().household
    located.refresh_from_db()
    assert located.area_approximate is False


def test_iso_dates_are_checked_in_sql():
    values = [
        "2020-02-29",
        "2019-02-29",
        "1900-02-29",
        "2000-02-29",
        "2021-04-31",
        "2021-12-31",
        "31/02/2020",
        "2021-1-5",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT v, registry_iso_date(v)::text FROM unnest(%s::text[]) v", [values])
        parsed = dict(cursor.fetchall())
    assert parsed == {
        "2020-02-29": "2020-02-29",
        "2019-02-29": None,
        "1900-02-29": None,
        "2000-02-29": "2000-02-29",
        "2021-04-31": None,
        "2021-12-31": "2021-12-31",
        "31/02/2020": None,
        "2021-1-5": None,
    }
