"""Progress bars for long management commands: drawn on the command's stderr when it is a
terminal, silent when the output goes to a file, a pipe or a log (CI, cron, ``docker logs``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.management.base import BaseCommand
from tqdm import tqdm


def on_terminal(command: BaseCommand) -> bool:
    stream = command.stderr._out
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def progress_bar(command: BaseCommand, *, desc: str, unit: str = "it", total: int | None = None, quiet: bool = False) -> tqdm:
    """A bar on ``command``'s stderr; ``quiet`` (``--json``, ``--verbosity 0``) or no terminal: none."""
    return tqdm(
        total=total, desc=desc, unit=unit, file=command.stderr._out, leave=False, disable=quiet or not on_terminal(command)
    )


def progress_over(command: BaseCommand, *, desc: str, unit: str = "it", quiet: bool = False) -> Callable[[Iterable], Iterable]:
    """Wraps an iterable in a bar (for loops that take one)."""

    def wrap(items: Iterable) -> Iterable:
        with progress_bar(
            command, desc=desc, unit=unit, total=len(items) if hasattr(items, "__len__") else None, quiet=quiet
        ) as bar:
            for item in items:
                yield item
                bar.update(1)

    return wrap


def progress_callback(bar: tqdm) -> Callable[[int, int], None]:
    """``(done, total)`` callbacks, as the services report progress, moving ``bar``."""

    def report(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    return report
