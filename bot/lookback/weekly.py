"""The weekly look back: the week in numbers, shared promises kept, the revealed scores beside
last week's, one open question, and the chart of the couple's days, at most the last 8 weeks
(which /progress shares)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.chart import DAYS, ChartData, Series
from bot.checkins.answers import (
    asked_days,
    complete_days,
    score_of,
    shown_up_line,
    shown_up_until,
    visible,
)
from bot.content import TOPICS, Library, Prompt
from bot.context import partners_of, schedules_of
from bot.paths.compose import look_back_lines
from bot.render import day_label
from bot.schedule import local_date
from bot.store import (
    CheckinAnswer,
    ContentHistory,
    Member,
    Promise,
    PromiseStatus,
    Space,
)
from bot.timeparse import zone_from_name

DEFAULT_DAY = "sun"
DEFAULT_TIME = "19:00"
QUESTION_TOPIC = "open_questions"


@dataclass(frozen=True)
class LookBack:
    """A look back as it will be sent: its text, and the chart's data (None: no chart)."""

    text: str
    chart: ChartData | None
    end: date


async def _revealed(session: AsyncSession, space: Space, since: date) -> set[date]:
    return {d for d in await complete_days(session, space) if d >= since}


async def _visible_scores(
    session: AsyncSession, space: Space, partners: list[Member], since: date, until: date
) -> dict[int, dict[date, int]]:
    """Each partner's scores the shared space may see (by the reveal rule), per day."""
    shown: dict[int, dict[date, int]] = defaultdict(dict)
    if space.reveal == "never" or not partners:
        return shown
    revealed = await _revealed(session, space, since)
    may_see = visible(space, None, revealed)
    by_id = {p.id: p for p in partners}
    rows = await session.exec(
        select(CheckinAnswer).where(
            CheckinAnswer.space_id == space.id,
            CheckinAnswer.local_date >= since,
            CheckinAnswer.local_date <= until,
            col(CheckinAnswer.member_id).in_(list(by_id)),
        )
    )
    for answer in rows.all():
        member = by_id[answer.member_id]
        score = score_of(answer)
        if score is not None and may_see(member, answer):
            shown[answer.member_id][answer.local_date] = score
    return shown


def _first_day(space: Space, scores: dict[int, dict[date, int]], today: date) -> date:
    """Where the chart starts: the couple's first day (the space's, or an earlier score's, as a
    space restored keeps its answers), at most 8 weeks back; a new couple's few days then fill
    the chart instead of sitting squashed at its right edge."""
    began = local_date(space.created_at, space.timezone)
    first = min([began, *(d for mine in scores.values() for d in mine)])
    return min(today, max(first, today - timedelta(days=DAYS - 1)))


def _chart(
    space: Space,
    partners: list[Member],
    scores: dict[int, dict[date, int]],
    today: date,
    question: str,
    own: tuple[str, dict[date, int]] | None = None,
) -> ChartData | None:
    """`own`: a line only the viewer sees, in their private chat (named, by day)."""
    # The private line's days count for where the chart starts (-1: a key no partner id takes).
    first = _first_day(space, {**scores, -1: own[1]} if own else scores, today)
    days = tuple(first + timedelta(days=i) for i in range((today - first).days + 1))
    series = tuple(
        Series(p.display_name, tuple(scores.get(p.id or 0, {}).get(d) for d in days))
        for p in partners
    )
    if own is not None:
        series += (Series(own[0], tuple(own[1].get(d) for d in days), own=True),)
    data = ChartData(days, series, question)
    return None if data.empty else data


async def chart_data(
    session: AsyncSession,
    space: Space,
    today: date,
    library: Library,
    own: tuple[str, dict[date, int]] | None = None,
) -> ChartData | None:
    """Revealed scores since the couple's first day (at most 8 weeks), one series a partner,
    and `own` (see _chart) when given; None when nothing is shown."""
    partners = await partners_of(session, space)
    since = today - timedelta(days=DAYS - 1)
    scores = await _visible_scores(session, space, partners, since, today)
    question = library.scored_question(space.question_id).text
    return _chart(space, partners, scores, today, question, own)


def _average(values: list[int]) -> str:
    return f"{sum(values) / len(values):.1f}" if values else "–"


def open_question(library: Library, space: Space, end: date) -> Prompt | None:
    """One open question for the two of you, a different one each week."""
    pool = [
        p
        for p in library.by_topic.get(QUESTION_TOPIC, ())
        if p.audience == "both" and p.fits(19, space.apart)
    ]
    if not pool:
        return None
    return pool[(end.toordinal() // 7 + (space.id or 0)) % len(pool)]


async def last_day(session: AsyncSession, space: Space, now: datetime) -> date:
    """The last local day whose check-in time has passed: a look back at 19:00 on a day whose
    check-in is at 21:30 covers the week to yesterday, so that day is counted next week, whole,
    instead of as missed now and never."""
    local = now.astimezone(zone_from_name(space.timezone))
    checkin = (await schedules_of(session, space)).get("checkin")
    if checkin is not None and local.strftime("%H:%M") < checkin.local_time:
        return local.date() - timedelta(days=1)
    return local.date()


async def look_back(
    session: AsyncSession, space: Space, now: datetime, library: Library
) -> LookBack | None:
    """The week that ends today (local), or None for a quiet week: no check-in was revealed or
    shown, and no shared promise was made or settled (a week off is no one's failure, and gets
    no message). Whether it comes at all reads only what both may see: a private answer, or a
    promise just for one of them, never decides it, or the message itself would tell of it."""
    end = await last_day(session, space, now)
    start = end - timedelta(days=6)
    days = await complete_days(session, space)
    # A couple who started within the week hears of their first days, not of "1 of 7".
    made = local_date(space.created_at, space.timezone)
    first = min([made, *days[-1:]])  # days: newest first
    new = start < first <= end
    partners = await partners_of(session, space)
    if not partners:
        return None
    week_start = now - timedelta(days=7)
    promised = await session.exec(
        select(Promise).where(
            Promise.space_id == space.id,
            (col(Promise.made_at) > week_start) | (col(Promise.closed_at) > week_start),
        )
    )
    promises = [p for p in promised.all() if p.shared]
    both = sum(1 for d in days if start <= d <= end)
    since = end - timedelta(days=DAYS - 1)
    scores = await _visible_scores(session, space, partners, since, end)
    shown_this_week = any(start <= d <= end for mine in scores.values() for d in mine)
    if not both and not shown_this_week and not promises:
        return None
    shown_up = shown_up_until(days, end, await asked_days(session, space))
    if new:
        count = (end - first).days + 1
        lines = [
            f"🌿 Your first days, {day_label(first)} to {day_label(end)}",
            f"📅 You both checked in on {both} of your first {count} "
            f"day{'s' if count != 1 else ''}.",
        ]
    else:
        lines = [
            f"🌿 Your week, {day_label(start)} to {day_label(end)}",
            f"📅 You both checked in on {both} of 7 days.",
        ]
    if shown_up:
        lines[1] += f" {shown_up_line(shown_up)}"
    shown = await session.exec(
        select(ContentHistory.prompt_id).where(
            ContentHistory.space_id == space.id,
            ContentHistory.member_id == 0,  # the shared prompts, never a partner's side ones
            col(ContentHistory.shown_at) > week_start,
        )
    )
    topics = {library.by_id[p].topic for p in shown.all() if p in library.by_id}
    # On a guided path the rotation's prompts were not what the couple saw: the path says where
    # they are, and its week's conversation guide takes the open question's place.
    assert space.id is not None
    on_path = await look_back_lines(session, space.id, end)
    if topics and on_path is None:
        lines.append("🌱 Practised: " + ", ".join(TOPICS[t] for t in TOPICS if t in topics) + ".")
    settled = [p.outcome for p in promises if p.closed_at is not None and p.closed_at > week_start]
    kept, partly = settled.count(PromiseStatus.DONE), settled.count(PromiseStatus.PARTLY)
    if partly:  # honest progress, counted apart from kept
        lines.append(f"🤝 Shared promises this week: {kept} kept, {partly} partly.")
    elif kept:
        lines.append(f"🤝 Shared promises kept this week: {kept}.")
    question = library.scored_question(space.question_id)
    if space.reveal != "never" and any(scores.values()):
        lines.append(f"📈 {question.text}")
        for partner in partners:
            mine = scores.get(partner.id or 0, {})
            week = [(d, s) for d, s in sorted(mine.items()) if start <= d <= end]
            before = [s for d, s in mine.items() if start - timedelta(days=7) <= d < start]
            daily = " · ".join(f"{d.strftime('%a')} {s}" for d, s in week) or "no scores shown"
            last = "" if new else f" (last week {_average(before)})"
            lines.append(
                f"{partner.display_name}: {daily}; average {_average([s for _, s in week])}{last}"
            )
    if on_path is not None:
        lines += on_path
    elif (prompt := open_question(library, space, end)) is not None:
        lines.append(f"💬 Something to talk about: {prompt.render(end.strftime('%A'))}")
    chart = _chart(space, partners, scores, end, question.text)
    if chart is not None:
        lines.append(f"🖼 {chart.summary()}")
    return LookBack("\n".join(lines), chart, end)
