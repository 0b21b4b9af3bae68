from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from geo.services import PARENT_MATCH_CHOICES, AreaImportOptions, area_import_file
from spmis.core.audit import audit_context


class Command(BaseCommand):
    help = "Import administrative areas from GeoJSON, GeoPackage or a zipped Shapefile (re-import updates by code)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--level", type=int, required=True, help="0 = country, 1 = first subdivision, …")
        parser.add_argument("--code-field", default="code")
        parser.add_argument("--name-field", default="name")
        parser.add_argument("--parent-match", choices=PARENT_MATCH_CHOICES, default="none")
        parser.add_argument("--parent-code-field")
        parser.add_argument("--population-field")
        parser.add_argument("--layer")
        parser.add_argument("--assume-crs", type=int, help="EPSG code to use when the file declares none")

    def handle(self, *args, **options):
        import_options = AreaImportOptions(
            level=options["level"],
            code_field=options["code_field"],
            name_field=options["name_field"],
            parent_match=options["parent_match"],
            parent_code_field=options["parent_code_field"],
            population_field=options["population_field"],
            layer=options["layer"],
            assume_crs=options["assume_crs"],
        )
        with tqdm(total=100, desc="areas", unit="%", disable=options["verbosity"] == 0) as bar:

            def progress(percent: int, message: str) -> None:
                bar.set_postfix_str(message)
                bar.update(percent - bar.n)

            try:
                with audit_context(actor="command:import_areas", source="command"):
                    result = area_import_file(path=options["path"], options=import_options, progress=progress)
            except ValidationError as error:
                raise CommandError(_format(error)) from None
        self.stdout.write(
            f"{result.features} features: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.repaired} invalid geometries repaired, "
            f"{result.reassigned_locations} located records re-assigned"
        )


def _format(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "\n".join(f"{key}: {'; '.join(messages)}" for key, messages in error.message_dict.items())
    return "; ".join(error.messages)
