from __future__ import annotations

from django.core.management.base import BaseCommand

from jiuzhu.core.divisions import generate_villages, load_national


class Command(BaseCommand):
    help = "Load the vendored national division tree (province → township) and retired county codes; optionally synthetic villages."

    def add_arguments(self, parser):
        parser.add_argument("--province", action="append", help="2-digit province code(s) to limit to")
        parser.add_argument("--synthetic-villages", metavar="COUNTY", action="append", default=[],
                            help="generate synthetic villages under this 6-digit county")

    def handle(self, *args, province, synthetic_villages, **options):
        n = load_national(provinces=province)
        self.stdout.write(f"divisions loaded: {n} new")
        for county in synthetic_villages:
            self.stdout.write(f"synthetic villages in {county}: {generate_villages(county)} new")
