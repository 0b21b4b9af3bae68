import csv
import io
import json
import tracemalloc

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.geojson import feature_collection
from registry.importing import ImportOptions, registry_import_file
from registry.models import CustomField, Household, Individual
from tests.registry.factories import CustomFieldFactory, IdTypeFactory

SURVEY_ANSWERS = 40


def write_households(path, households: int, *, answers: int = 0, indent: int | None = None) -> None:
    """A FeatureCollection of `households` Point features in the west district (90–91°E), two members each,
    written feature by feature. `answers` adds that many survey properties (text the import stages but maps to
    nothing), as real survey exports carry."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"type": "FeatureCollection", "name": "survey", "features": [\n')
        for n in range(households):
            properties = {
                "household_id": f"HH{n}",
                "address": f"Village {n % 97}, ward {n % 9}",
                "members": [
                    {"individual_id": f"P{n}a", "given_name": "Amina", "role": "head", "birth_date": "1980-01-31"},
                    {"individual_id": f"P{n}b", "given_name": "Rafiq", "role": "child", "wg_walking": 3},
                ],
            }
            properties.update({f"q{i:02}": f"answer {i} of household {n}: no change" for i in range(answers)})
            feature = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [90.0 + (n % 1000 + 0.5) / 1000, 23.5]},
                "properties": properties,
            }
            handle.write(("," if n else "") + json.dumps(feature, indent=indent) + "\n")
        handle.write("]}\n")


@pytest.fixture
def setup_registry(two_districts):
    IdTypeFactory()
    return two_districts


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    features=st.lists(json_values, max_size=6),
    indent=st.sampled_from([None, 0, 2]),
    read_chars=st.integers(1, 40),
    extra=st.dictionaries(st.sampled_from(["type", "name", "bbox"]), json_values, max_size=2),
)
def test_stream_decodes_features_as_json_loads_does(tmp_path_factory, features, indent, read_chars, extra):
    """Whatever the chunk boundaries, every feature comes out as the standard library decodes it."""
    path = tmp_path_factory.mktemp("stream") / "c.geojson"
    path.write_text(json.dumps({**extra, "features": features}, indent=indent), encoding="utf-8")
    assert list(feature_collection(path, read_chars)) == json.loads(path.read_text())["features"]


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "FeatureCollection",\n "features": [{"a": 1},\n  {"b": 2 "c": 3}]}',
        '{"features": [{"a": 1},]}',
        '{"features": [{"a": 1}]',
        '{"features": [{"a": 1}]} trailing',
        '{"features": [{"a": tru}]}',
    ],
)
def test_invalid_json_is_reported_where_json_loads_reports_it(tmp_path, text):
    path = tmp_path / "bad.geojson"
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(ValidationError) as error:
        list(feature_collection(path, read_chars=3))
    assert error.value.message_dict["file"] == [f"The file is not valid GeoJSON ({expected.value})."]


def test_a_broken_feature_early_in_a_large_file_is_reported_without_reading_the_rest(tmp_path):
    """A 5 MB file broken in its first feature: the error comes with about 0.2 MB of Python memory, not the file."""
    path = tmp_path / "broken.geojson"
    path.write_text('{"features": [{"a": tru}' + ', {"b": 1}' * 500_000 + "]}")
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError, match=r"Expecting value: line 1 column 21 \(char 20\)"):
            list(feature_collection(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@pytest.mark.django_db
def test_geojson_of_thousands_of_features(tmp_path, setup_registry):
    _, west, _ = setup_registry
    CustomFieldFactory(name="boat", type=CustomField.Type.BOOLEAN, applies_to=CustomField.AppliesTo.HOUSEHOLD)
    path = tmp_path / "households.geojson"
    write_households(path, 3000, indent=1)
    # A flat individual feature, typed values, then a member without a name (rejected on its own row).
    text = path.read_text().removesuffix("]}\n")
    flat = {
        "household_id": "HH7",
        "individual_id": "P7c",
        "given_name": "Nur",
        "is_pregnant": True,
        "custom.boat": False,
    }
    bad = {"household_id": "HH8", "members": [{"individual_id": "P8c", "given_name": None}]}
    for properties in (flat, bad):
        text += "," + json.dumps({"type": "Feature", "geometry": None, "properties": properties})
    path.write_text(text + "]}\n")

    report = io.BytesIO()
    result = registry_import_file(path=path, options=ImportOptions(source="geojson"), report=report)
    assert (result.rows, result.valid_rows, result.rejected_rows) == (6002, 6001, 1)
    assert (result.households_created, result.individuals_created, result.memberships_opened) == (3000, 6001, 6001)
    household = Household.objects.get(external_id="HH1234")
    assert household.location.coords == pytest.approx((90.2345, 23.5))
    assert (household.area_id, household.address) == (west.id, "Village 70, ward 1")
    assert sorted(household.memberships.values_list("individual__external_id", "role")) == [
        ("P1234a", "head"),
        ("P1234b", "child"),
    ]
    child = Individual.objects.get(external_id="P1234b")
    assert (child.wg_walking, child.disability) == (3, True)
    assert Individual.objects.get(external_id="P7c").is_pregnant is True
    assert Household.objects.get(external_id="HH7").custom == {"boat": False}
    # Rows are numbered from 2, one per member, as in the other formats: the rejected member is the 6,003rd row.
    [rejected] = csv.DictReader(io.StringIO(report.getvalue().decode()))
    assert (rejected["row"], rejected["individual_id"], rejected["reasons"]) == (
        "6003",
        "P8c",
        "missing field given_name",
    )


@pytest.mark.django_db
def test_geojson_import_memory_stays_flat(tmp_path, setup_registry):
    """A 35 MB file (15,000 households, 30,000 rows of 45 columns): the Python heap peaks at about 0.4 MB while
    it is imported, whereas decoding it whole as the import once did (json.loads, then a list of rows) peaks at
    about 166 MB, almost five times the file. The bound asserted, a twentieth of the file (1.7 MB), leaves room for
    noise and still fails for anything that holds the features."""
    path = tmp_path / "large.geojson"
    write_households(path, 15_000, answers=SURVEY_ANSWERS)
    size = path.stat().st_size
    assert size > 30_000_000, size
    tracemalloc.start()
    try:
        result = registry_import_file(path=path, options=ImportOptions(source="geojson"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.rows, result.valid_rows, result.households_created) == (30_000, 30_000, 15_000)
    assert peak < size / 20, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([{"type": "Feature"}], "Expected a GeoJSON FeatureCollection."),
        ({"type": "FeatureCollection", "features": [{"properties": {"household_id": "H"}}, 7]}, "Feature 2 is not"),
        ({"type": "FeatureCollection", "features": [{"properties": ["a"]}]}, "Feature 1: properties is not"),
        (
            {"type": "FeatureCollection", "features": [{"properties": {"household_id": "H", "members": [{}, "x"]}}]},
            "Feature 1: each of its members must be an object",
        ),
        ({"type": "FeatureCollection", "features": [{"geometry": None, "properties": {}}]}, "no features with"),
        (
            {
                "type": "FeatureCollection",
                "features": [{"properties": {"household_id": "H", "individual_id": "P", "given_name": "A"}}],
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32646"}},
            },
            "coordinates are in urn:ogc:def:crs:EPSG::32646",
        ),
    ],
)
def test_unusable_geojson_is_refused_naming_the_problem(tmp_path, setup_registry, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(content))
    with pytest.raises(ValidationError) as error:
        registry_import_file(path=path, options=ImportOptions(source="geojson"))
    assert message in error.value.message_dict["file"][0]
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_geojson_in_crs84_is_accepted(tmp_path, setup_registry):
    path = tmp_path / "crs84.geojson"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [90.5, 23.5]},
        "properties": {"household_id": "H", "individual_id": "P", "given_name": "A"},
    }
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": [feature]}))
    assert registry_import_file(path=path, options=ImportOptions(source="geojson")).households_created == 1
    assert Household.objects.get(external_id="H").location.coords == (90.5, 23.5)
