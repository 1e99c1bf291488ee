"""The weekly look back on the injected clock: its day and time in two zones, what it says, what
it keeps back (the reveal rule, a quiet week), and the chart's data against what was revealed."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.console import SHARED, ConsoleAdapter
from bot.chart import DAYS, ChartData, Series, draw
from bot.lookback.weekly import chart_data
from bot.messages import Address, Attachment, Outgoing
from bot.service import Tandem
from bot.store import CheckinAnswer, Delivery, Member, Once, Space
from tests.conftest import dialog
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import dm, pair, private_couple, privately

CAROL, DAVE = ("u3", "Carol"), ("u4", "Dave")
THEIRS = Address("test", "chat-2")
PNG = b"\x89PNG\r\n\x1a\n"


async def checkin_day(
    tandem: Tandem,
    clock: FixedClock,
    messenger: FakeMessenger,
    at: str,
    taps: dict[tuple[str, str], int],
    group: Address = HOME,
) -> None:
    """The check-in comes at `at`; each listed partner taps a score (0: Skip today)."""
    clock.set(at)
    await tandem.dispatch_due()
    sent = {m.to: m for m in messenger.take() if m.buttons}
    for who, score in taps.items():
        private = dm(who) in sent
        checkin = sent[dm(who)] if private else sent[group]
        action = checkin.buttons[score - 1 if score else 5].action
        if private:
            await tandem.handle(privately(who, action=action))
        else:
            await tandem.handle(said(who, action=action, to=group, whisper=True))
    messenger.take()


async def berlin_week(tandem: Tandem, clock: FixedClock, messenger: FakeMessenger) -> None:
    """Alice and Bob, in Berlin, answer privately through the week of Mon 16 to Sun 22 Nov."""
    clock.set("2026-11-16T10:00:00+00:00")
    await pair(tandem, ALICE)
    await pair(tandem, BOB)
    for command in ("/timezone Berlin", "/checkin 21:00"):
        await tandem.handle(said(ALICE, command))
    week = {
        16: {ALICE: 4, BOB: 3},
        17: {ALICE: 5, BOB: 4},
        18: {ALICE: 2},  # Bob never answered: Alice's 2 is not revealed
        20: {ALICE: 3, BOB: 0},  # Bob skipped: a day both took part
        21: {ALICE: 4, BOB: 5},
    }
    for day, taps in week.items():
        await checkin_day(tandem, clock, messenger, f"2026-11-{day}T20:00:00+00:00", taps)
    clock.set("2026-11-22T17:00:00+00:00")
    await tandem.dispatch_due()
    messenger.take()


async def look_backs(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, at: str
) -> list[Outgoing]:
    clock.set(at)
    await tandem.dispatch_due()
    return [m for m in messenger.take() if m.text.startswith("🌿 Your ")]


async def test_the_look_back_comes_on_sunday_evening_in_each_zone(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    lite = tandem  # on SQLite and PostgreSQL
    await berlin_week(lite, clock, messenger)
    # Carol and Dave, in New York, answer in their group (no private chats), on Sunday noon.
    await lite.handle(said(CAROL, "/start", to=THEIRS))
    await lite.handle(said(DAVE, "/start", to=THEIRS))
    await lite.handle(said(CAROL, "/timezone New York", to=THEIRS))
    for off in ("/remind off", "/checkin off"):  # the default rhythm off: only the look back
        await lite.handle(said(CAROL, off, to=THEIRS))
    await lite.handle(said(CAROL, "/checkin", to=THEIRS))
    [checkin] = [m for m in messenger.take() if m.to == THEIRS and m.buttons]
    for who in (CAROL, DAVE):
        await lite.handle(said(who, action=checkin.buttons[3].action, to=THEIRS, whisper=True))
    messenger.take()

    assert await look_backs(lite, clock, messenger, "2026-11-22T17:59:00+00:00") == []
    [berlin] = await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00")  # 19:00
    assert berlin.to == HOME and berlin.protect
    lines = berlin.text.splitlines()
    # They started on Monday, and Sunday's check-in (21:00) is still to come: their first days.
    assert lines[0] == "🌿 Your first days, Mon 16 Nov to Sat 21 Nov"
    # The 18th and 19th, missed, are rest days (2 in a week): the count goes on through them.
    assert (
        lines[1] == "📅 You both checked in on 4 of your first 6 days. Days you both showed up: 4."
    )
    assert "📈 How at ease did you feel with each other today?" in lines
    assert "Alice: Mon 4 · Tue 5 · Fri 3 · Sat 4; average 4.0" in lines  # no "(last week –)"
    assert "Bob: Mon 3 · Tue 4 · Sat 5; average 4.0" in lines
    assert any(line.startswith("💬 Something to talk about: Ask each other") for line in lines)
    picture = berlin.attachment
    assert picture is not None and picture.image and picture.data.startswith(PNG)
    assert picture.filename == "look-back-2026-11-21.png"  # named after the week's last day
    assert picture.alt.startswith("Chart: daily check-in scores from 1 to 5")
    assert "Alice 4 days, average 4.0; Bob 3 days, average 4.0" in picture.alt
    assert lines[-1] == f"🖼 {picture.alt}"  # the summary is in the words too

    assert await look_backs(lite, clock, messenger, "2026-11-22T23:59:00+00:00") == []
    [new_york] = await look_backs(lite, clock, messenger, "2026-11-23T00:00:01+00:00")
    assert new_york.to == THEIRS
    assert "Carol: Sun 4; average 4.0" in new_york.text
    assert await look_backs(lite, clock, messenger, "2026-11-23T02:00:00+00:00") == []  # once
    # A week later nobody answered: a quiet week gets no message, and nobody is told off.
    assert await look_backs(lite, clock, messenger, "2026-11-29T18:00:01+00:00") == []
    async with lite.store.unit() as session:
        found = await session.exec(select(Delivery.status).where(Delivery.kind == "weekly"))
        assert sorted(found.all()) == ["sent", "sent", "skipped"]


async def test_whether_it_comes_never_tells_of_what_one_did_privately(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """A week in which only Alice answered (never revealed) and made a promise just for her
    must look like a quiet week to Bob: no look back at all."""
    clock.set("2026-11-16T10:00:00+00:00")
    await pair(lite, ALICE)
    await pair(lite, BOB)
    for command in ("/timezone Berlin", "/checkin 21:00"):
        await lite.handle(said(ALICE, command))
    await checkin_day(lite, clock, messenger, "2026-11-18T20:00:00+00:00", {ALICE: 2})
    [asked] = await lite.handle(privately(ALICE, "/promise journal each night by sat"))
    await lite.handle(privately(ALICE, action=asked.buttons[1].action))  # just for me
    assert await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00") == []

    clock.set("2026-11-24T10:00:00+00:00")
    await lite.handle(said(BOB, "/promise cook on friday by sat"))  # a shared one: it comes
    [back] = await look_backs(lite, clock, messenger, "2026-11-29T18:00:01+00:00")
    assert "journal" not in back.text


async def test_under_reveal_never_there_are_no_scores_and_no_chart(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    await lite.handle(said(ALICE, "/reveal never"))
    [back] = await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00")
    assert "You both checked in on 4 of your first 6 days" in back.text
    assert "📈" not in back.text and "average" not in back.text and back.attachment is None


async def test_promises_kept_are_counted_and_only_kept_ones(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    for words in ("plan the walk", "call Mum", "fix the shelf"):
        await lite.handle(said(ALICE, f"/promise {words} by today"))
    [secret] = await lite.handle(privately(BOB, "/promise write to my sister by today"))
    promised = await lite.handle(privately(ALICE, "/promises"))
    answers = {"plan the walk": "Done", "call Mum": "Not yet", "fix the shelf": "Let it go"}
    for item in promised[1:]:
        words = item.text.split("”")[0].strip("“")
        [label] = [b for b in item.buttons if b.label == answers[words]]
        await lite.handle(privately(ALICE, action=label.action))
    await lite.handle(privately(BOB, action=secret.buttons[1].action))  # just for me
    listing = await lite.handle(privately(BOB, "/promises"))
    await lite.handle(privately(BOB, action=listing[1].buttons[0].action))  # Done, privately
    [back] = await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00")
    assert "🤝 Shared promises kept this week: 1." in back.text
    assert "Mum" not in back.text and "shelf" not in back.text and "sister" not in back.text


async def test_with_no_group_both_private_chats_get_it(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    clock.set("2026-11-16T10:00:00+00:00")
    await private_couple(lite)
    await lite.handle(privately(ALICE, "/checkin 21:00"))
    await checkin_day(lite, clock, messenger, "2026-11-20T21:00:00+00:00", {ALICE: 3, BOB: 4})
    backs = await look_backs(lite, clock, messenger, "2026-11-22T19:00:01+00:00")
    assert sorted(b.to.chat_id for b in backs) == ["dm-u1", "dm-u2"]
    assert backs[0].attachment is not None and backs[0].attachment == backs[1].attachment


async def test_the_weekly_setting(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    await dialog(
        lite,
        [
            ("/weekly", "Weekly look back: 19:00 on Sun, next today at 19:00"),
            ("/weekly fri 8pm", "✅ Weekly look back set for 20:00 on Fri (Europe/Berlin time)"),
            ("/weekly 18:30 sat", "✅ Weekly look back set for 18:30 on Sat"),
            ("/weekly sun 19:00", "next today at 19:00"),
            ("/weekly someday 7pm", "mon,wed,fri"),
            ("/weekly sun", "/weekly sun 19:00"),
            ("/weekly mon,fri 7pm", "/weekly sun 19:00"),
            ("/schedule", "Weekly look back: 19:00 on Sun, next today at 19:00."),
            ("/pause 3 days", "Paused for 3 days"),
            ("/weekly off", "Weekly look back turned off."),
            ("/schedule", "Weekly look back: off (set one with /weekly sun 19:00)."),
        ],
    )
    [refused] = await lite.handle(said(CAROL, "/weekly sun 19:00"))
    assert "Only this space's two partners" in refused.text
    assert await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00") == []


async def test_progress_attaches_the_same_chart(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await berlin_week(lite, clock, messenger)
    [progress] = await lite.handle(said(BOB, "/progress"))
    assert progress.attachment is not None and progress.attachment.data.startswith(PNG)
    assert progress.attachment.filename == "progress-2026-11-22.png"
    assert "Alice 4 days, average 4.0; Bob 3 days" in progress.text
    await lite.handle(said(ALICE, "/reveal never"))
    [plain] = await lite.handle(said(BOB, "/progress"))
    assert plain.attachment is None


# ---- The chart's data, against what was revealed -------------------------------------------------


async def seed_answers(
    tandem: Tandem,
    days: dict[date, tuple[int | None, int | None]],
    revealed: set[date],
    chat_id: str = HOME.chat_id,
) -> tuple[Space, list[Member]]:
    """Answers written straight into the store: (the first partner's score, the second's) a
    day, None for no answer; `revealed` days count as revealed."""
    async with tandem.store.unit() as session:
        space = (await session.exec(select(Space).where(Space.chat_id == chat_id))).one()
        members = list(
            (
                await session.exec(
                    select(Member).where(Member.space_id == space.id).order_by(Member.id)
                )
            ).all()
        )
        now = datetime.fromisoformat("2026-11-21T12:00:00+00:00")
        for day, scores in days.items():
            for member, score in zip(members, scores, strict=True):
                if score is not None:
                    assert space.id is not None and member.id is not None
                    session.add(
                        CheckinAnswer(
                            space_id=space.id,
                            member_id=member.id,
                            local_date=day,
                            tap=str(score),
                            took_part=True,
                            answered_at=now,
                            updated_at=now,
                            reveal=space.reveal,  # given under the space's rule, as the core does
                        )
                    )
        for day in revealed:
            assert space.id is not None
            session.add(Once(space_id=space.id, key=f"reveal:{day.isoformat()}", at=now))
    return space, members


@pytest.mark.parametrize("reveal", ["together", "instant", "never"])
async def test_the_chart_shows_exactly_what_was_revealed(
    lite: Tandem, clock: FixedClock, reveal: str
) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(BOB, "/start"))
    await lite.handle(said(ALICE, f"/reveal {reveal}"))
    today = date(2026, 11, 21)
    days = {
        today: (4, 5),
        today - timedelta(days=1): (3, None),  # only Alice: never revealed
        today - timedelta(days=9): (2, 2),
        today - timedelta(days=DAYS - 1): (1, 3),  # the first day of the eight weeks
        today - timedelta(days=DAYS): (5, 5),  # one day too old
    }
    revealed = {d for d, (a, b) in days.items() if a is not None and b is not None}
    await seed_answers(lite, days, revealed)
    async with lite.store.read() as session:
        space = (await session.exec(select(Space).where(Space.chat_id == HOME.chat_id))).one()
        data = await chart_data(session, space, today, lite.library)
    if reveal == "never":
        assert data is None
        return
    assert data is not None
    assert data.days[0] == today - timedelta(days=DAYS - 1) and data.days[-1] == today
    alice, bob = data.series
    assert (alice.name, bob.name) == ("Alice", "Bob")
    shown_alice = {data.days[i]: s for i, s in enumerate(alice.scores) if s is not None}
    shown_bob = {data.days[i]: s for i, s in enumerate(bob.scores) if s is not None}
    in_window = {d: v for d, v in days.items() if d >= data.days[0]}
    expected_alice = {
        d: a for d, (a, _) in in_window.items() if a and (reveal == "instant" or d in revealed)
    }
    expected_bob = {d: b for d, (_, b) in in_window.items() if b is not None}
    assert shown_alice == expected_alice and shown_bob == expected_bob
    assert (today - timedelta(days=1) in shown_alice) == (reveal == "instant")
    assert data.summary().endswith(
        f"Alice {len(expected_alice)} days, average "
        f"{sum(expected_alice.values()) / len(expected_alice):.1f}; Bob 3 days, average 3.3."
    )


def test_a_chart_draws_with_gaps_and_weekends() -> None:
    # How fast charts draw is measured by `make bench` (10,000 look backs, each with its chart),
    # as a ratio against drawing on the event loop: never as a time limit in a unit test.
    start = date(2026, 9, 28)
    days = tuple(start + timedelta(days=i) for i in range(DAYS))
    scores = tuple(None if i % 5 == 0 else 1 + i % 5 for i in range(DAYS))
    data = ChartData(days, (Series("Alice", scores), Series("Bob", scores[::-1])))
    first = draw(data)  # the first builds the figure; later ones reuse it
    again = draw(data)
    assert first.startswith(PNG) and again.startswith(PNG)
    assert again == first  # a reused figure draws the same picture, no leftovers from before


async def test_the_console_saves_a_picture_and_prints_its_path(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out, export_dir=tmp_path)
    chart = Attachment("look-back-2026-11-22.png", PNG + b"...", "image/png", alt="Chart: ...")
    await console.send(Outgoing(SHARED, "🌿 Your week", attachment=chart))
    saved = tmp_path / "look-back-2026-11-22.png"
    assert saved.read_bytes() == PNG + b"..."
    assert f"🖼 look-back-2026-11-22.png saved to {saved.resolve()}" in out.getvalue()


async def test_a_sunday_checked_in_after_the_look_back_is_counted_the_next_week(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """Check-in at 21:30, look back at 19:00 on Sunday: the look back covers the week to
    Saturday, and Sunday, answered later that evening, opens the next one (it was once counted
    as missed, "1 of 7", and its scores appeared in no week at all)."""
    clock.set("2026-11-02T10:00:00+00:00")  # they started weeks before
    await pair(lite, ALICE)
    await pair(lite, BOB)
    for command in ("/timezone Berlin", "/checkin 21:30"):
        await lite.handle(said(ALICE, command))
    await checkin_day(lite, clock, messenger, "2026-11-21T20:30:00+00:00", {ALICE: 3, BOB: 3})
    [first] = await look_backs(lite, clock, messenger, "2026-11-22T18:00:01+00:00")
    assert first.text.splitlines()[0] == "🌿 Your week, Sun 15 Nov to Sat 21 Nov"
    assert "You both checked in on 1 of 7 days." in first.text

    await checkin_day(lite, clock, messenger, "2026-11-22T20:30:00+00:00", {ALICE: 5, BOB: 4})
    [second] = await look_backs(lite, clock, messenger, "2026-11-29T18:00:01+00:00")
    assert second.text.splitlines()[0] == "🌿 Your week, Sun 22 Nov to Sat 28 Nov"
    assert "Alice: Sun 5; average 5.0 (last week 3.0)" in second.text
