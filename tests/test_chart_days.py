"""The chart a new couple sees: it starts at their first day, and a score both gave shows twice."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from sqlmodel import select

from bot.chart import COLORS, DAYS, SIZE, ChartData, Series, draw
from bot.lookback.weekly import chart_data
from bot.service import Tandem
from bot.store import Space
from tests.fakes import ALICE, BOB, HOME, FixedClock, said
from tests.test_weekly import seed_answers

TODAY = date(2026, 11, 21)  # the fixed clock's day, and the day the space was made


async def _data(lite: Tandem, days: dict[date, tuple[int | None, int | None]]) -> ChartData:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(BOB, "/start"))
    await seed_answers(lite, days, set(days))
    async with lite.store.read() as session:
        space = (await session.exec(select(Space).where(Space.chat_id == HOME.chat_id))).one()
        data = await chart_data(session, space, TODAY, lite.library)
    assert data is not None
    return data


async def test_a_new_couples_chart_starts_on_their_first_day(lite: Tandem) -> None:
    data = await _data(lite, {TODAY: (4, 5)})
    assert data.days == (TODAY,)
    assert data.summary().startswith("Chart: daily check-in scores from 1 to 5, 21 Nov to 21 Nov")


async def test_scores_from_before_the_space_was_made_widen_it(lite: Tandem) -> None:
    # A space moved or restored keeps its older answers; the chart still starts at the first.
    data = await _data(lite, {TODAY - timedelta(days=3): (2, 3), TODAY: (4, 5)})
    assert data.days[0] == TODAY - timedelta(days=3) and len(data.days) == 4


async def test_never_more_than_eight_weeks(lite: Tandem, clock: FixedClock) -> None:
    clock.set("2026-08-01T12:00:00+00:00")
    await lite.handle(said(ALICE, "/start"))
    clock.set("2026-11-21T12:00:00+00:00")
    data = await _data(lite, {TODAY: (4, 5)})
    assert data.days[0] == TODAY - timedelta(days=DAYS - 1) and len(data.days) == DAYS


def _pixels_of(png: bytes, color: str) -> int:
    """How many pixels inside the plotting area are close to `color` (the legend is above it)."""
    image = imread(io.BytesIO(png))[..., :3]
    height, width = image.shape[:2]
    assert (width, height) == (int(SIZE[0] * 80), int(SIZE[1] * 80))
    plot = image[int(height * 0.16) : int(height * 0.86), int(width * 0.07) : int(width * 0.97)]
    return int((np.abs(plot - np.array(to_rgb(color))).sum(axis=2) < 0.15).sum())


def test_equal_scores_of_both_partners_are_both_visible() -> None:
    days = tuple(date(2026, 11, 2) + timedelta(days=i) for i in range(20))
    same = tuple(3 if i % 2 else 4 for i in range(20))
    png = draw(ChartData(days, (Series("Alice", same), Series("Bob", same))))
    alice, bob = _pixels_of(png, COLORS[0]), _pixels_of(png, COLORS[1])
    assert alice > 200 and bob > 200, (alice, bob)
