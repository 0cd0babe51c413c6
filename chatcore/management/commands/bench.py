"""``manage.py bench <what>``: one command for every benchmark.

Each benchmark is a module of ``chatcore.benchmarks`` with ``HELP``,
``add_arguments(parser)`` and ``run(command, **options)``; this command only wires
them. A new benchmark is one more line in ``BENCHMARKS``.
"""

from __future__ import annotations

from importlib import import_module

from django.core.management.base import BaseCommand, CommandParser

BENCHMARKS = {
    "retrieval": "chatcore.benchmarks.retrieval",
    "chat": "chatcore.benchmarks.chat",
    "load": "chatcore.benchmarks.load",
}


class Command(BaseCommand):
    help = "Benchmarks: " + ", ".join(f"`bench {name}`" for name in BENCHMARKS) + " (`bench <what> --help`)."

    def add_arguments(self, parser: CommandParser) -> None:
        benchmarks = parser.add_subparsers(dest="what", required=True, metavar="{" + ",".join(BENCHMARKS) + "}")
        for name, path in BENCHMARKS.items():
            module = import_module(path)
            module.add_arguments(benchmarks.add_parser(name, help=module.HELP, description=module.HELP))

    def handle(self, *args, what: str, **options) -> None:
        import_module(BENCHMARKS[what]).run(self, **options)
