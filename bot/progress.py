"""Progress of long commands on stderr (rows done of all, time left), in a terminal only."""

from __future__ import annotations

import sys
from typing import Never, TextIO

from tqdm import tqdm


def progress(what: str, total: int | None, stream: TextIO | None = None) -> tqdm[Never]:
    """A bar on `stream` (stderr) when it is a terminal; silent in a pipe or a log, where a bar
    redrawn with carriage returns would only be noise. Move it with `.update()` or `.n`."""
    out = sys.stderr if stream is None else stream
    return tqdm(
        total=total,
        desc=what,
        unit=" rows",
        file=out,
        disable=not out.isatty(),
        dynamic_ncols=True,
        mininterval=0.2,
        bar_format="{desc}: {n_fmt} of {total_fmt} rows |{bar}| {elapsed}, {remaining} left",
    )


def advance_to(bar: tqdm[Never], done: int) -> None:
    """Moves the bar to `done` rows in all (callbacks that report a running total)."""
    if done > bar.n:
        bar.update(done - bar.n)
