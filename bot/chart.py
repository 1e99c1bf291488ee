"""The look back's chart: both partners' daily scores (at most 8 weeks) as a PNG, drawn off the loop.

`draw` is plain and synchronous (matplotlib's Agg backend, object API, no pyplot). `Charts` runs
it in a pool of worker processes (or one thread), with a bounded number of charts in flight, so
the event loop keeps answering while hundreds of look backs render.
"""

from __future__ import annotations

import asyncio
import functools
import io
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

WEEKS = 8
DAYS = WEEKS * 7
COLORS = ("#c2410c", "#1d4ed8")  # orange and blue: apart for most kinds of colour vision
# A third line, only ever in its author's private /progress (the hurt partner's own question):
# grey and dashed, so it never reads as a third partner.
OWN_COLOR, OWN_STYLE = "#6b7280", "--"
SHADE = "#ece8f3"
SIZE = (8.0, 3.2)  # inches; at 80 dpi a 640 x 256 picture
DPI = 80
# On a day both gave the same score, the two dots sit this far above and below it (in score
# units, about 4 px each way), so one never hides the other.
TIE_OFFSET = 0.12
DAILY_TICKS = 14  # up to two weeks, every day is labelled; longer, every Monday
WORKER_NICENESS = 10  # charts can wait a moment; a member's command should not
TASKS_PER_WORKER = 2000  # a worker is replaced after this many charts: memory stays bounded


@dataclass(frozen=True)
class Series:
    """One partner's line: a score (1 to 5) or None for each day."""

    name: str
    scores: tuple[int | None, ...]
    own: bool = False  # the viewer's private line (drawn grey and dashed, never a partner's)

    @property
    def answered(self) -> list[int]:
        return [s for s in self.scores if s is not None]


@dataclass(frozen=True)
class ChartData:
    """What the chart shows, and all it shows: the days, and each partner's revealed scores."""

    days: tuple[date, ...]
    series: tuple[Series, ...]
    question: str = ""

    def heights(self) -> list[list[float | None]]:
        """Where each series' dots are drawn: the score, moved apart where both gave it."""
        drawn: list[list[float | None]] = [
            [None if s is None else float(s) for s in series.scores] for series in self.series
        ]
        partners = [i for i, series in enumerate(self.series) if not series.own]
        if len(partners) == 2:
            a, b = partners
            for i, (first, second) in enumerate(zip(drawn[a], drawn[b], strict=True)):
                if first is not None and first == second:
                    drawn[a][i], drawn[b][i] = first + TIE_OFFSET, first - TIE_OFFSET
        return drawn

    @property
    def empty(self) -> bool:
        return not any(s.answered for s in self.series)

    def summary(self) -> str:
        """The one-line text for screen readers."""
        span = f"{_day(self.days[0])} to {_day(self.days[-1])}" if self.days else ""
        parts = []
        for series in self.series:
            scores = series.answered
            if scores:
                average = sum(scores) / len(scores)
                days = f"{len(scores)} day{'s' if len(scores) != 1 else ''}"
                parts.append(f"{series.name} {days}, average {average:.1f}")
            else:
                parts.append(f"{series.name} no scores shown")
        return (
            f"Chart: daily check-in scores from 1 to 5, {span}, one line each, weekends "
            f"shaded, gaps where there was no score. {'; '.join(parts)}."
        )


def _day(day: date) -> str:
    return day.strftime("%d %b").lstrip("0")


class _Painter:
    """One figure, kept and redrawn: building axes and ticks anew costs more than the drawing."""

    def __init__(self) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import PolyCollection
        from matplotlib.figure import Figure

        figure = Figure(figsize=SIZE, dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.06, 0.12, 0.92, 0.74))
        axes.set_ylim(0.5, 5.5)
        axes.set_yticks([1, 2, 3, 4, 5])
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        self.shade = PolyCollection([], facecolors=SHADE, linewidths=0, zorder=0)
        axes.add_collection(self.shade)
        styles = [(color, "-") for color in COLORS] + [(OWN_COLOR, OWN_STYLE)]
        self.lines = [
            axes.plot([], [], marker="o", markersize=3.5, linewidth=2, color=c, linestyle=ls)[0]
            for c, ls in styles
        ]
        self.figure, self.axes = figure, axes

    def draw(self, data: ChartData) -> bytes:
        import numpy as np
        from matplotlib.ticker import FixedFormatter, FixedLocator

        days, axes = data.days, self.axes
        self.shade.set_verts(
            [
                [(i - 0.5, 0.5), (i + 0.5, 0.5), (i + 0.5, 5.5), (i - 0.5, 5.5)]
                for i, day in enumerate(days)
                if day.weekday() >= 5
            ]
        )
        x = np.arange(len(days))
        partner_lines, own_lines = iter(self.lines[:-1]), iter(self.lines[-1:])
        shown = []
        for series, heights in zip(data.series, data.heights(), strict=True):
            line = next(own_lines if series.own else partner_lines, None)
            if line is not None:
                shown.append((line, series, heights))
        for line, series, heights in shown:
            # NaN breaks the line: a day without a score is a gap, never a made-up slope.
            scores = [np.nan if s is None else s for s in heights]
            line.set_data(x, np.array(scores))
            line.set_label(series.name)
            line.set_visible(True)
        for line in set(self.lines) - {line for line, _, _ in shown}:
            line.set_visible(False)
        axes.set_xlim(-0.5, len(days) - 0.5)
        ticks = [i for i, day in enumerate(days) if len(days) <= DAILY_TICKS or day.weekday() == 0]
        axes.xaxis.set_major_locator(FixedLocator(ticks))
        axes.xaxis.set_major_formatter(FixedFormatter([_day(days[i]) for i in ticks]))
        axes.legend(
            handles=[line for line, _, _ in shown],
            loc="lower left",
            bbox_to_anchor=(0, 1),
            frameon=False,
            ncols=len(shown),
        )
        buffer = io.BytesIO()
        # Level 1: a little larger than the default, and much quicker to write.
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


@functools.cache
def _painter() -> _Painter:
    return _Painter()  # one per process (or per chart thread): built on the first chart


def draw(data: ChartData) -> bytes:
    """The chart as PNG bytes. Not thread-safe: `Charts` calls it from one thread per process."""
    return _painter().draw(data)


def _warm() -> None:
    """A worker's start: behind the event loop's process for the CPU, and matplotlib loaded."""
    os.nice(WORKER_NICENESS)
    draw(ChartData((date(2026, 1, 5), date(2026, 1, 6)), (Series("", (3, 4)),)))


class Charts:
    """Draws charts off the event loop: `processes` workers (0: one thread), at most `pending`
    charts queued or drawing at once, so memory stays bounded however many look backs are due."""

    def __init__(self, processes: int = 0, pending: int | None = None) -> None:
        self.processes = processes
        self._slots = asyncio.Semaphore(pending or max(2, 2 * processes))
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            if self.processes > 0:
                # Spawned, not forked: a fork of a process with running threads can deadlock.
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm,
                    max_tasks_per_child=TASKS_PER_WORKER,
                )
            else:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        return self._pool

    async def render(self, data: ChartData) -> bytes:
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor(), draw, data)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def default_processes() -> int:
    """Two on a two-core machine: the event loop keeps a core's worth of slices between them."""
    return max(1, min(2, (os.cpu_count() or 1)))
