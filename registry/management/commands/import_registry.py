import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from registry.importing import ImportOptions, registry_import_file
from registry.models import ImportMapping
from spmis.core.audit import audit_context


class Command(BaseCommand):
    help = "Import households and individuals from CSV, XLSX or GeoJSON (re-import updates by external ID)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", default="", help="Where the data comes from; its saved mapping is used")
        parser.add_argument("--mapping", help='JSON {"target field": "column in the file"}')
        parser.add_argument(
            "--phone-region", help="Region for numbers without a country code (default: the configured country's)"
        )
        parser.add_argument("--sheet")
        parser.add_argument("--report", help="Write rejected rows (with every reason) to this CSV file")

    def handle(self, *args, **options):
        try:
            mapping = json.loads(options["mapping"]) if options["mapping"] else None
        except json.JSONDecodeError as error:
            raise CommandError(f"--mapping is not valid JSON: {error.msg}") from None
        if mapping is None and options["source"]:
            saved = ImportMapping.objects.filter(source=options["source"]).first()
            mapping = saved.columns if saved else {}
        import_options = ImportOptions(
            source=options["source"],
            mapping=mapping or {},
            sheet=options["sheet"],
            **({"phone_region": options["phone_region"]} if options["phone_region"] else {}),
        )
        report = open(options["report"], "wb") if options["report"] else None  # noqa: SIM115
        try:
            with tqdm(total=100, desc="registry", unit="%", disable=options["verbosity"] == 0) as bar:

                def progress(percent: int, message: str) -> None:
                    bar.set_postfix_str(message)
                    bar.update(percent - bar.n)

                with audit_context(actor="command:import_registry", source="command"):
                    result = registry_import_file(
                        path=options["path"], options=import_options, report=report, progress=progress
                    )
        except ValidationError as error:
            messages = error.message_dict if hasattr(error, "error_dict") else {"file": error.messages}
            raise CommandError("\n".join(f"{key}: {'; '.join(value)}" for key, value in messages.items())) from None
        finally:
            if report:
                report.close()
        self.stdout.write(
            f"{result.rows} rows: {result.valid_rows} imported, {result.rejected_rows} rejected; households "
            f"{result.households_created} created, {result.households_updated} updated; individuals "
            f"{result.individuals_created} created, {result.individuals_updated} updated, "
            f"{result.individuals_unchanged} unchanged"
        )
        for line in result.errors_sample[:5]:
            self.stdout.write(f"  {line}")
