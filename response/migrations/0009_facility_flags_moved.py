from django.db import migrations


class Migration(migrations.Migration):
    """Facility flags now live in distribution (FacilityExposure, with real foreign keys); its migration 0003 copied
    the existing flags before this one drops the old table."""

    dependencies = [
        ("response", "0008_exposedfacility_area"),
        ("distribution", "0003_facility_exposure"),
    ]

    operations = [
        migrations.DeleteModel(name="ExposedFacility"),
    ]
