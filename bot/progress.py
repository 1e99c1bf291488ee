"""Progress of long commands on stderr (rows done of all, time left), in a terminal only."""

from __future__ import annotations

import sys
from typing import Never, TextIO

from tqdm import tqdm


def progress(
    what: str,
    total: int | None,
    stream: TextIO | None = None,
    *,
    unit: str = "rows",
    open_ended: bool = False,
) -> tqdm[Never]:
    """A bar on `stream` (stderr) when it is a terminal; silent in a pipe or a log, where a bar
    redrawn with carriage returns would only be noise. Move it with `.update()` or `.n`. A bar
    whose total comes later gets it from `advance_to`; an open-ended one only counts."""
    out = sys.stderr if stream is None else stream
    shape = (
        f"{{desc}}: {{n_fmt}} {unit}, {{elapsed}}"
        if open_ended
        else f"{{desc}}: {{n_fmt}} of {{total_fmt}} {unit} |{{bar}}| {{elapsed}}, {{remaining}} left"
    )
    return tqdm(
        total=total,
        desc=what,
        unit=f" {unit}",
        file=out,
        disable=not out.isatty(),
        # A bar whose total comes later is drawn only once it has moved (an up-to-date
        # database says nothing); one with its total is drawn at once.
        delay=1e-6 if total is None else 0,
        dynamic_ncols=True,
        mininterval=0.2,
        bar_format=shape,
    )


def advance_to(bar: tqdm[Never], done: int, total: int | None = None) -> None:
    """Moves the bar to `done` in all (callbacks that report a running total), with its total
    once that is known."""
    if total is not None:
        first = bar.total is None
        bar.total = total
        if first and total:
            # Work to show: drawn now, and at close in its final state. tqdm redraws at most
            # every `mininterval` and, while a `delay` is pending, draws nothing on close, so a
            # run quicker than that ended unseen (or stuck at 0 of its total).
            bar.delay = 0
            bar.refresh()
    if done > bar.n:
        bar.update(done - bar.n)
