"""Registry endpoints refuse malformed input with a 400 naming the field, never a 500."""

import json

import pytest

from registry.models import CustomFilter, ImportMapping

pytestmark = pytest.mark.django_db

MAPPINGS = "/api/v1/registry/import-mappings/"
FILTERS = "/api/v1/registry/custom-filters/"


@pytest.mark.parametrize(
    "columns", ["null", "123", "[1, 2]", "not json", '{"given_name": 5}', '{"given_name": "a\\u0000b"}']
)
def test_import_mapping_columns_from_a_form_must_be_an_object_of_column_names(admin_user_client, columns):
    response = admin_user_client.post(MAPPINGS, {"source": "ngo", "columns": columns}, format="multipart")
    assert response.status_code == 400, response.content
    assert "columns" in response.json()
    assert not ImportMapping.objects.exists()


@pytest.mark.parametrize("columns", [None, 123, [1, 2], "text", {"given_name": 5}])
def test_import_mapping_columns_in_json_must_be_an_object_of_column_names(admin_user_client, columns):
    response = admin_user_client.post(MAPPINGS, {"source": "ngo", "columns": columns}, format="json")
    assert response.status_code == 400, response.content
    assert "columns" in response.json()
    assert not ImportMapping.objects.exists()


def test_import_mapping_from_a_form_is_saved(admin_user_client):
    columns = {"given_name": "First name"}
    response = admin_user_client.post(MAPPINGS, {"source": "ngo", "columns": json.dumps(columns)}, format="multipart")
    assert response.status_code == 201, response.content
    assert ImportMapping.objects.get(source="ngo").columns == columns


def test_custom_filter_without_conditions_is_a_400(admin_user_client):
    response = admin_user_client.post(FILTERS, {"name": "f", "applies_to": "household"}, format="json")
    assert response.status_code == 400, response.content
    assert "conditions" in response.json()
    assert not CustomFilter.objects.exists()


@pytest.mark.parametrize("mapping", ["123", "[1]", "nope"])
def test_registry_import_mapping_must_be_an_object(admin_user_client, mapping):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("people.csv", b"household_id,given_name\nH1,Ana\n", content_type="text/csv")
    response = admin_user_client.post(
        "/api/v1/registry/imports/", {"file": upload, "mapping": mapping}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert "mapping" in response.json()


@pytest.mark.parametrize("url", ["/api/v1/registry/households/", "/api/v1/registry/individuals/"])
@pytest.mark.parametrize("param", ["q", "document", "area", "phone", "filter"])
def test_nul_byte_in_a_search_parameter_is_a_400_naming_it(admin_user_client, url, param):
    response = admin_user_client.get(url, {param: "ab\x00c"})
    assert response.status_code == 400, response.content
    assert "NUL" in json.dumps(response.json()[param])


@pytest.mark.parametrize("condition", [{"field": ["x"], "op": "eq", "value": 1}, {"field": "size", "op": ["eq"]}])
def test_custom_filter_condition_with_a_field_that_is_not_text_is_a_400(admin_user_client, condition):
    body = {"name": "f", "applies_to": "individual", "conditions": [condition]}
    response = admin_user_client.post(FILTERS, body, format="json")
    assert response.status_code == 400, response.content
    assert "conditions" in response.json()


def test_csv_that_is_not_utf8_is_refused_in_plain_words(tmp_path):
    from django.core.exceptions import ValidationError

    from registry.importing import ImportOptions, registry_import_file

    path = tmp_path / "people.csv"
    path.write_bytes(b"\xff\xfe\x00h\x00o\x00u\x00s\x00e\x00\n")  # UTF-16, as some spreadsheets save it
    with pytest.raises(ValidationError) as error:
        registry_import_file(path=path, options=ImportOptions())
    assert "UTF-8" in error.value.message_dict["file"][0]
