"""Retention: the daily pass erases old notes, closed promises and long-removed spaces, once a day,
on the injected clock; /privacy states the periods; the settings are validated."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App
from bot.checkins.answers import score_of
from bot.content import ContentError, Library, default_content_dir, load_content
from bot.messages import Address, Event, Incoming
from bot.service import Tandem
from bot.settings import Settings, SettingsError, load_settings
from bot.store import CheckinAnswer, Promise, Space
from tests.conftest import build, one, privacy_text
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said

OTHER = Address("test", "chat-2")


async def couple(bot: Tandem, to: Address = HOME) -> None:
    for who in (ALICE, BOB):
        await bot.handle(said(who, "/start", to=to))


async def note(bot: Tandem, messenger: FakeMessenger, words: str, to: Address = HOME) -> None:
    """Bob answers today's check-in with a 3 and a note, typed as a reply in the chat."""
    messenger.take()
    await bot.handle(said(ALICE, "/checkin", to=to))
    [checkin] = [m for m in messenger.take() if m.buttons]
    await bot.handle(said(BOB, action=checkin.buttons[2].action, to=to))
    await bot.handle(said(BOB, words, to=to, reply_to=messenger.message_id_of(checkin)))


async def notes(bot: Tandem) -> list[str | None]:
    async with bot.store.read() as session:
        found = await session.exec(select(CheckinAnswer).order_by(CheckinAnswer.id))  # type: ignore[arg-type]
        return [a.note for a in found.all()]


async def spaces(bot: Tandem) -> set[str]:
    async with bot.store.read() as session:
        return {s.chat_id for s in (await session.exec(select(Space))).all()}


async def test_notes_older_than_the_period_are_erased_and_younger_ones_kept(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(tandem)
    await note(tandem, messenger, "an old thought")
    clock.advance(days=200)
    await note(tandem, messenger, "a newer thought")
    clock.advance(days=165)  # the old note is 365 days old: not older than the period yet

    swept = await tandem.housekeeper.run()
    assert swept is not None and swept.notes == 0
    assert await notes(tandem) == ["an old thought", "a newer thought"]

    clock.advance(days=1)
    swept = await tandem.housekeeper.run()
    assert swept is not None and swept.notes == 1
    assert await notes(tandem) == [None, "a newer thought"]
    async with tandem.store.read() as session:
        scores = [score_of(a) for a in (await session.exec(select(CheckinAnswer))).all()]
    assert scores == [3, 3]  # the day's score stays; only the words go


async def test_closed_promises_past_the_period_go_and_open_ones_stay(
    tandem: Tandem, clock: FixedClock
) -> None:
    await couple(tandem)
    await tandem.handle(said(ALICE, "/promise plan Saturday's walk"))
    await tandem.handle(said(ALICE, "/promise cook on Sunday"))
    listing = await tandem.handle(said(ALICE, "/promises"))
    done = next(b for b in listing[1].buttons if b.label == "Done")
    await tandem.handle(said(ALICE, action=done.action))
    clock.advance(days=366)

    swept = await tandem.housekeeper.run()

    assert swept is not None and swept.promises == 1
    async with tandem.store.read() as session:
        left = [(p.body, p.status) for p in (await session.exec(select(Promise))).all()]
    assert left == [("cook on Sunday", "open")]


async def test_the_pass_runs_once_a_day_even_after_a_restart(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    bot = await build(sqlite_url, clock, messenger, library)
    await couple(bot)
    assert await bot.housekeeper.run() is not None  # today's pass
    assert await bot.housekeeper.run() is None
    today = clock.now()
    clock.advance(days=-400)
    await note(bot, messenger, "written long ago")
    clock.set(today.isoformat())
    await bot.store.close()

    restarted = await build(sqlite_url, clock, messenger, library)
    clock.advance(hours=11)  # 23:00 UTC, still the same day
    assert await restarted.housekeeper.run() is None
    assert await notes(restarted) == ["written long ago"]

    clock.advance(hours=1)  # midnight UTC: a new day
    swept = await restarted.housekeeper.run()
    assert swept is not None and swept.notes == 1
    assert await notes(restarted) == [None]
    await restarted.store.close()


async def test_two_processes_on_one_database_run_the_days_pass_once(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    other = Tandem(tandem.store, clock, library, messenger)
    first, second = await tandem.housekeeper.run(), await other.housekeeper.run()
    assert first is not None and second is None


async def test_a_removed_space_is_erased_after_90_days_and_an_active_one_never(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(tandem)
    await couple(tandem, OTHER)
    await note(tandem, messenger, "still here", OTHER)
    await tandem.handle(Incoming(OTHER, event=Event.REMOVED))
    clock.advance(days=90)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == {HOME.chat_id, OTHER.chat_id}  # 90 days, not more

    clock.advance(days=1)
    swept = await tandem.housekeeper.run()

    assert swept is not None and swept.spaces == 1
    assert await spaces(tandem) == {HOME.chat_id}
    assert await notes(tandem) == []
    for _ in range(3):  # a space in use is never erased, however long it lives
        clock.advance(days=400)
        await tandem.housekeeper.run()
    assert await spaces(tandem) == {HOME.chat_id}


async def test_a_space_added_back_in_time_is_kept(tandem: Tandem, clock: FixedClock) -> None:
    await couple(tandem)
    await tandem.handle(Incoming(HOME, event=Event.REMOVED))
    clock.advance(days=80)
    await tandem.handle(Incoming(HOME, "u1", "Alice", event=Event.ADDED))
    clock.advance(days=20)
    await tandem.handle(said(ALICE, "/schedule"))  # (and it works)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == {HOME.chat_id}


async def test_a_space_switched_off_before_this_version_gets_the_full_period(
    tandem: Tandem, clock: FixedClock
) -> None:
    await couple(tandem)
    async with tandem.store.unit() as session:
        [space] = (await session.exec(select(Space))).all()
        space.active = False  # as an older version left it: off, with no date
        session.add(space)
    await tandem.housekeeper.run()
    clock.advance(days=90)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == {HOME.chat_id}
    clock.advance(days=1)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == set()


async def test_the_raw_sqlite_file_no_longer_holds_an_erased_note(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    bot = await build(sqlite_url, clock, messenger, library)
    await couple(bot)
    await couple(bot, OTHER)
    await note(bot, messenger, "a very old private sentence")
    await note(bot, messenger, "a sentence from a chat that left", OTHER)
    await bot.handle(Incoming(OTHER, event=Event.REMOVED))
    database = Path(sqlite_url.removeprefix("sqlite:///"))

    def raw() -> bytes:
        return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))

    # Notes are encrypted at rest, so the file holds their sealed form, not the words: look for
    # exactly what is stored, read past the cipher.
    with contextlib.closing(sqlite3.connect(database)) as conn:
        stored = [row[0].encode() for row in conn.execute("SELECT note FROM checkinanswer")]
    assert len(stored) == 2 and all(s in raw() for s in stored)  # visible while it is there
    assert b"a very old private sentence" not in raw()
    clock.advance(days=366)
    swept = await bot.housekeeper.run()  # while the bot runs: not just at close
    assert swept is not None and swept.notes and swept.spaces

    assert not any(s in raw() for s in stored)
    await bot.store.close()


async def test_privacy_states_the_configured_periods(
    lite: Tandem, sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    default = await privacy_text(lite, ALICE)
    assert "erased 365 days after it was written" in default
    assert "erased 90 days later" in default
    assert "{" not in default
    short = await one(lite, said(ALICE, "/privacy"))
    assert "A note is erased after 365 days." in short.text

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=sqlite_url.replace("tandem.db", "app.db"),
        note_retention_days=30,
        inactive_retention_days=14,
        tick_seconds=60,
    )
    app = App(settings, [], clock=clock, library=library)
    tandem = await app.start()
    try:
        configured = await privacy_text(tandem, ALICE)
    finally:
        await app.stop()
    assert "a note is erased 30 days after it was written" in configured
    assert "erased 30 days after it was closed" in configured
    assert "erased 14 days later" in configured


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("NOTE_RETENTION_DAYS", "0", "greater than or equal to 1"),
        ("NOTE_RETENTION_DAYS", "a year", "valid integer"),
        ("INACTIVE_RETENTION_DAYS", "-5", "greater than or equal to 1"),
        ("INACTIVE_RETENTION_DAYS", "99999", "less than or equal to 3650"),
    ],
)
def test_a_bad_retention_setting_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings(None)
    assert str(err.value).startswith(f"Invalid setting {name}: ")
    assert says in str(err.value)


def test_the_retention_settings_default_to_a_year_and_90_days(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTE_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("INACTIVE_RETENTION_DAYS", raising=False)
    settings = load_settings(None)
    assert (settings.note_retention_days, settings.inactive_retention_days) == (365, 90)
    monkeypatch.setenv("NOTE_RETENTION_DAYS", "30")
    assert load_settings(None).note_retention_days == 30


def test_a_privacy_text_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(default_content_dir(), root)
    texts = root / "texts.toml"
    texts.write_text(texts.read_text().replace("{inactive_days} days later", "{days} later"))
    with pytest.raises(ContentError, match=r"texts\.toml.*privacy"):
        load_content(root)


async def test_a_space_found_gone_at_delivery_is_erased_after_the_period(
    tandem: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    """Telegram can tell of a removal only when a send fails (the bot was kicked while down):
    that space ages out like one removed while Tandem watched."""
    from bot.messages import SendResult, SendStatus

    await couple(tandem)
    await tandem.handle(said(ALICE, "/remind 21:00"))
    messenger.fail(HOME.chat_id, SendResult(SendStatus.GONE, reason="Forbidden"))
    clock.set("2026-11-21T21:00:00+00:00")
    report = await tandem.dispatch_due()
    assert report.deactivated == 1

    clock.advance(days=89)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == {HOME.chat_id}
    clock.advance(days=2)
    await tandem.housekeeper.run()
    assert await spaces(tandem) == set()
