from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from distribution.roads.services import network_load_file


class Command(BaseCommand):
    help = "Load a road network from an OpenStreetMap extract (.osm.pbf, .osm) or GeoJSON lines."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--code", required=True, help="a short slug, e.g. sao-paulo-centre")
        parser.add_argument("--name", default="")
        parser.add_argument("--attribution", default=None, help="source and licence (default: OSM, ODbL)")
        parser.add_argument("--default", action="store_true", help="route on this network when none is named")

    def handle(self, *args, **options):
        try:
            network = network_load_file(
                path=options["file"],
                code=options["code"],
                name=options["name"] or options["code"],
                attribution=options["attribution"],
                make_default=options["default"],
                progress=lambda percent, message: self.stdout.write(f"{percent:3d}% {message}"),
            )
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {network.code}: {network.edge_count} road segments, {network.vertex_count} junctions"
            )
        )
