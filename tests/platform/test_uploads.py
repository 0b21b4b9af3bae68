"""One upload rule for every upload: size limits per kind, stopped while the body streams, and zip archives checked
from their directory (members, unpacked size, compression ratio) before anything is unpacked."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from spmis.core.uploads import zip_members


def write_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path):
    bomb = tmp_path / "bomb.zip"
    write_zip(bomb, {"flood.geojson": b"0" * (64 * 2**20)})  # 64 MB of zeros packs into ~64 KB
    with pytest.raises(ValidationError) as refused:
        zip_members(bomb)
    assert "zip bomb" in str(refused.value.message_dict["file"])


def test_too_many_members_and_too_many_unpacked_bytes_are_refused_in_plain_words(tmp_path, settings):
    many = tmp_path / "many.zip"
    write_zip(many, {f"part{i}.csv": b"a,b\n" for i in range(30)})
    settings.SPMIS = {**settings.SPMIS, "ZIP_MAX_MEMBERS": 20}
    with pytest.raises(ValidationError) as refused:
        zip_members(many)
    assert refused.value.message_dict == {"file": ["The zip archive has 30 members; at most 20 are accepted."]}

    settings.SPMIS = {**settings.SPMIS, "ZIP_MAX_MEMBERS": 10_000, "ZIP_MAX_UNPACKED_BYTES": 50}
    with pytest.raises(ValidationError) as refused:
        zip_members(many)
    assert "would unpack to 120 bytes; the limit is 50 bytes" in refused.value.message_dict["file"][0]


def test_a_sound_zip_lists_its_files_and_a_damaged_one_is_named_so(tmp_path):
    sound = tmp_path / "sound.zip"
    write_zip(sound, {"dir/": b"", "dir/areas.geojson": b'{"type": "FeatureCollection", "features": []}'})
    assert zip_members(sound) == ["dir/areas.geojson"]
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(sound.read_bytes()[:40])
    with pytest.raises(ValidationError) as refused:
        zip_members(damaged, what="The EMS package")
    assert refused.value.message_dict == {"file": ["The EMS package is damaged or truncated."]}


@pytest.mark.django_db
def test_the_registry_import_has_its_own_limit_and_says_both_sizes(client_for, settings):
    settings.SPMIS = {**settings.SPMIS, "REGISTRY_IMPORT_MAX_BYTES": 10, "AREA_IMPORT_MAX_BYTES": 10**9}
    officer = client_for(roles=["administrator"])
    upload = SimpleUploadedFile("people.csv", b"household_id,name\nH1,Rahima\n", content_type="text/csv")
    response = officer.post("/api/v1/registry/imports/", {"file": upload, "source": "survey"}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is larger than the limit (10 bytes)."]}


@pytest.mark.django_db
def test_an_area_upload_over_the_limit_is_stopped_while_streaming(client_for, settings):
    settings.SPMIS = {**settings.SPMIS, "AREA_IMPORT_MAX_BYTES": 100}
    analyst = client_for(roles=["gis_analyst"])
    upload = SimpleUploadedFile("areas.geojson", io.BytesIO(b" " * 5000).read(), content_type="application/json")
    response = analyst.post("/api/v1/geo/area-imports/", {"file": upload, "level": 0}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"file": ["The file is larger than the limit (100 bytes)."]}
