"""The Dhaka waterlogging scenario of the demo: facilities at their places, the zones drawn, an analysis that finds
the school inside a zone unusable; a second load changes nothing."""

import pytest

from distribution.demo_dhaka import INCIDENT_NAME, POINTS, WAREHOUSES, load_dhaka_facilities, load_dhaka_waterlogging
from distribution.models import DistributionPoint, FacilityExposure, Warehouse
from response.models import ExposureRun, HazardZone
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_dhaka_scenario_flags_the_flooded_school_and_loads_once():
    user = UserFactory(is_superuser=True)
    assert load_dhaka_facilities() == {"warehouses": len(WAREHOUSES), "distribution_points": len(POINTS)}
    run = load_dhaka_waterlogging(user=user)

    assert run.status == ExposureRun.Status.SUCCEEDED
    assert HazardZone.objects.filter(incident__name=INCIDENT_NAME, is_current=True).count() == 5
    unusable = set(FacilityExposure.objects.filter(run=run).values_list("distribution_point__code", flat=True))
    # Motijheel's school stands in the Motijheel–Arambagh zone, Jatrabari's in Jatrabari's; Dhanmondi's is dry.
    assert {"DP-DHK-MOT", "DP-DHK-JAT"} <= unusable
    assert "DP-DHK-DHN" not in unusable
    assert DistributionPoint.objects.get(code="DP-DHK-DHN").daily_capacity_households == 400

    load_dhaka_facilities()
    assert load_dhaka_waterlogging(user=user).pk == run.pk
    assert Warehouse.objects.filter(code__startswith="WH-DHK-").count() == len(WAREHOUSES)
    assert HazardZone.objects.filter(incident__name=INCIDENT_NAME).count() == 5
