"""CAP 1.2 alerts (Alert / Update / Cancel chains) and Copernicus EMS packages as hazard layers. The messages and
packages are generated from the real district boundaries."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ValidationError

from layers.cap import CAP_NS
from layers.models import CapAlert, LayerImport, VectorFeature, VectorLayer
from layers.services import LayerImportOptions, cap_alert_import, ems_package_import
from tests.layers.conftest import media_files, zip_files

pytestmark = pytest.mark.django_db
SENDER = "bmd.gov.bd"


def district(districts, name):
    return districts.loc[districts["name"] == name].geometry.iloc[0]


def cap_xml(
    identifier,
    *,
    msg_type="Alert",
    references=(),
    polygons=(),
    circles=(),
    geocodes=(),
    severity="Severe",
    sent=None,
):
    ET.register_namespace("", CAP_NS)

    def sub(parent, tag, text=None):
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    alert = ET.Element(f"{{{CAP_NS}}}alert")
    sub(alert, "identifier", identifier)
    sub(alert, "sender", SENDER)
    sub(alert, "sent", sent or "2024-08-21T06:00:00+06:00")
    sub(alert, "status", "Actual")
    sub(alert, "msgType", msg_type)
    sub(alert, "scope", "Public")
    if references:
        sub(alert, "references", " ".join(f"{SENDER},{ref},2024-08-21T06:00:00+06:00" for ref in references))
    info = sub(alert, "info")
    sub(info, "category", "Met")
    sub(info, "event", "Flood")
    sub(info, "urgency", "Immediate")
    sub(info, "severity", severity)
    sub(info, "certainty", "Observed")
    sub(info, "headline", "Flash flood in the north-east")
    if polygons or circles or geocodes:
        area = sub(info, "area")
        sub(area, "areaDesc", "Sylhet division")
        for polygon in polygons:
            ring = polygon.simplify(0.01).exterior.coords
            sub(area, "polygon", " ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in ring))
        for lon, lat, radius in circles:
            sub(area, "circle", f"{lat},{lon} {radius}")
        for value_name, value in geocodes:
            geocode = sub(area, "geocode")
            sub(geocode, "valueName", value_name)
            sub(geocode, "value", value)
    return ET.tostring(alert, xml_declaration=True, encoding="utf-8")


def largest(geometry):
    return max(getattr(geometry, "geoms", [geometry]), key=lambda g: g.area)


def test_alert_update_cancel_chain(districts):
    sylhet = largest(district(districts, "Sylhet"))
    alert = cap_alert_import(data=cap_xml("BMD-1", polygons=[sylhet], circles=[(91.87, 24.9, 25)]))
    assert alert.status == "open" and alert.version == 1
    assert (alert.severity, alert.urgency, alert.certainty) == ("Severe", "Immediate", "Observed")
    layer = alert.layer
    assert layer.kind == "hazard" and layer.source_type == "cap" and layer.feature_count == 2
    circle = VectorFeature.objects.get(layer=layer, properties__shape="circle")
    # A 25 km circle covers about π·25² ≈ 1963 km².
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(geom::geography) / 1e6 FROM layers_vectorfeature WHERE id = %s", [circle.pk])
        assert cursor.fetchone()[0] == pytest.approx(1963, rel=0.01)
    polygon = VectorFeature.objects.get(layer=layer, properties__shape="polygon")
    assert polygon.geom.intersects(polygon.geom.centroid) and polygon.properties["area"] == "Sylhet division"

    sunamganj = largest(district(districts, "Sunamganj"))
    update = cap_alert_import(
        data=cap_xml("BMD-2", msg_type="Update", references=["BMD-1"], polygons=[sylhet, sunamganj], severity="Extreme")
    )
    alert.refresh_from_db()
    assert alert.status == "closed" and "BMD-2" in alert.closed_reason
    assert update.version == 2 and update.previous == alert and update.status == "open"
    assert update.layer.feature_count == 2 and update.severity == "Extreme"
    assert VectorLayer.objects.get(pk=alert.layer_id).status == "archived"

    cancel = cap_alert_import(data=cap_xml("BMD-3", msg_type="Cancel", references=["BMD-2"]))
    update.refresh_from_db()
    assert update.status == "closed" and update.closed_reason == "cancelled"
    assert cancel.layer is None and cancel.version == 3 and cancel.status == "closed"


def test_same_identifier_is_never_imported_twice(districts):
    data = cap_xml("BMD-9", polygons=[largest(district(districts, "Sylhet"))])
    cap_alert_import(data=data)
    with pytest.raises(ValidationError) as error:
        cap_alert_import(data=data)
    assert "already been imported" in error.value.message_dict["identifier"][0]
    assert CapAlert.objects.count() == 1 and VectorLayer.objects.count() == 1


@pytest.mark.parametrize(
    "data,message",
    [
        (b"<alert><unclosed>", "not well-formed"),
        (b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>", "Not a CAP 1.2 alert"),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&b;</alert>',
            "forbidden",
        ),
    ],
)
def test_bad_cap_files(data, message):
    with pytest.raises(ValidationError, match=message):
        cap_alert_import(data=data)
    assert CapAlert.objects.count() == 0 and VectorLayer.objects.count() == 0


def test_update_of_unknown_alert_and_alert_without_area_are_refused(districts):
    with pytest.raises(ValidationError) as error:
        cap_alert_import(data=cap_xml("U-1", msg_type="Update", references=["nope"], circles=[(91.8, 24.9, 5)]))
    assert "references" in error.value.message_dict
    with pytest.raises(ValidationError, match="no <area>"):
        cap_alert_import(data=cap_xml("A-1"))
    assert VectorLayer.objects.count() == 0


def test_cap_upload_through_the_api(client_for, tmp_path, districts, django_capture_on_commit_callbacks, media_root):
    path = tmp_path / "alert.xml"
    path.write_bytes(cap_xml("BMD-API", polygons=[largest(district(districts, "Sylhet"))]))
    client = client_for(roles=["emergency_coordinator"])
    with django_capture_on_commit_callbacks(execute=True), open(path, "rb") as handle:
        response = client.post("/api/v1/layers/layer-imports/", {"kind": "cap", "file": handle}, format="multipart")
    assert response.status_code == 202
    job = LayerImport.objects.get()
    assert job.status == "succeeded" and job.result["identifier"] == "BMD-API"
    alerts = client.get("/api/v1/layers/cap-alerts/?status=open").json()["results"]
    assert [a["identifier"] for a in alerts] == ["BMD-API"]
    assert media_files(media_root) == []


def write_ems_package(tmp_path, districts, *, name="EMSR692_AOI01_DEL_PRODUCT"):
    import pyogrio

    folder = tmp_path / "ems"
    folder.mkdir()
    flooded = districts[districts["name"].isin(["Sylhet", "Sunamganj", "Habiganj"])].copy()
    flooded = flooded.assign(event_type="Flood", obj_desc="Flooded area", notation="Flooded area")[
        ["event_type", "obj_desc", "notation", "geometry"]
    ]
    flooded["geometry"] = flooded.to_crs(epsg=32646).buffer(-2000).to_crs(epsg=4326)
    aoi = districts[districts["name"] == "Sylhet"][["name", "geometry"]]
    files = []
    for stem, frame in ((f"{name}_observedEventA_r1_v2", flooded), (f"{name}_areaOfInterestA_r1_v2", aoi)):
        pyogrio.write_dataframe(frame, folder / f"{stem}.shp")
        files += sorted(folder.glob(f"{stem}.*"))
    return zip_files(tmp_path / f"{name}_VECTORS_r1_v2.zip", files, arcname=lambda p: f"vectors/{p.name}")


def test_ems_package_becomes_a_hazard_layer(tmp_path, districts, media_root):
    path = write_ems_package(tmp_path, districts)
    layer, result = ems_package_import(path=path, options=LayerImportOptions())
    assert result.features == 3
    assert layer.kind == "hazard" and layer.source_type == "ems"
    assert layer.activation_code == "EMSR692"
    assert layer.product_version == "AOI01 DEL PRODUCT r1 v2"
    assert "observedEventA" in layer.source_layer
    assert set(VectorFeature.objects.filter(layer=layer).values_list("properties__notation", flat=True)) == {
        "Flooded area"
    }
    with pytest.raises(ValidationError, match="already imported"):
        ems_package_import(path=path, options=LayerImportOptions())


def test_ems_package_without_observed_event(tmp_path, districts):
    import pyogrio

    shp = tmp_path / "EMSR700_AOI01_GRA_PRODUCT_builtUpA_v1.shp"
    pyogrio.write_dataframe(districts.head(2)[["name", "geometry"]], shp)
    path = zip_files(tmp_path / "EMSR700.zip", sorted(tmp_path.glob("EMSR700_*.*")))
    with pytest.raises(ValidationError, match="No observed-event layer"):
        ems_package_import(path=path, options=LayerImportOptions())
    assert VectorLayer.objects.count() == 0


def test_cap_alert_by_url(client_for, districts, http_server, settings, django_capture_on_commit_callbacks):
    body = cap_xml("BMD-URL", polygons=[largest(district(districts, "Sylhet"))])
    http_server.routes["/bmd.xml"] = (200, {"Content-Type": "application/xml"}, body)
    # The local test server stands in for the national feed, configured as a feed host (it is not public).
    settings.SPMIS = {**settings.SPMIS, "CAP_FEED_HOSTS": ["localhost"]}
    client = client_for(roles=["emergency_coordinator"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/layers/layer-imports/",
            {"kind": "cap", "url": http_server.url("/bmd.xml", host="localhost")},
            format="json",
        )
    assert response.status_code == 202, response.content
    assert http_server.hits == ["/bmd.xml"]
    assert CapAlert.objects.get().identifier == "BMD-URL"
    response = client.post("/api/v1/layers/layer-imports/", {"kind": "vector"}, format="json")
    assert response.status_code == 400 and "file" in response.json()


def test_geocode_only_areas_take_the_boundaries_of_areas_with_those_codes():
    """Many national feeds name districts or upazilas by code instead of drawing polygons. Real boundaries, real
    P-codes (OCHA COD-AB), in any case; the second scheme (a code list spmis does not hold) is ignored because the
    first matches in full."""
    from geo.demo import load_bangladesh_areas
    from geo.models import Area

    load_bangladesh_areas()
    alert = cap_alert_import(
        data=cap_xml(
            "BMD-G1",
            geocodes=[("PCODE", "bd6091"), ("PCODE", "BD60900089"), ("FIPS", "BG85")],
        )
    )
    features = VectorFeature.objects.filter(layer=alert.layer).order_by("fid")
    # Sylhet district (level 2) and Sunamganj Sadar upazila (level 3).
    assert [f.properties["geocode"] for f in features] == ["bd6091", "BD60900089"]
    assert {f.properties["shape"] for f in features} == {"geocode"}
    assert features[0].geom.equals(Area.objects.get(code="BD6091").geom)
    assert features[1].geom.equals(Area.objects.get(code="BD60900089", level=3).geom)
    assert alert.layer.feature_count == 2

    layers_before = VectorLayer.objects.count()
    with pytest.raises(ValidationError) as refused:
        cap_alert_import(data=cap_xml("BMD-G2", geocodes=[("FIPS", "BG85"), ("FIPS", "BG84")]))
    assert "BG84" in str(refused.value) and "BG85" in str(refused.value)
    assert VectorLayer.objects.count() == layers_before
    assert not CapAlert.objects.filter(identifier="BMD-G2").exists()
