from django.db import migrations

from spmis.core.sql import audit_enable


class Migration(migrations.Migration):
    dependencies = [("programs", "0006_payments")]

    # Every insert, update and delete of a provider, an account or an account change is in the audit log.
    operations = [
        audit_enable(
            "programs_financialserviceprovider",
            "programs_financialserviceprovider_areas",
            "programs_paymentaccount",
            "programs_paymentaccountchange",
        )
    ]
