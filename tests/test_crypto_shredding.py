"""Forgetting destroys the member's own key (crypto-shredding), so a copy of their words left
anywhere in the database files opens nothing; and a sealed value opens only in its own place."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.crypto import NONCE, DataKeyError, Place, _unwrapped
from bot.service import Tandem
from bot.store import CheckinAnswer, Member, Promise
from tests.conftest import export_of
from tests.fakes import ALICE, BOB, FakeMessenger, said
from tests.test_checkins import ask, tap

ALICE_NOTE = "otter lantern: I was scared when you left"
ALICE_PROMISE = "tell you first when plans change"
BOB_PROMISE = "bring the heron map by friday"


async def raw(tandem: Tandem, sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows as stored, past the sealing type: what anyone with the database sees."""
    async with tandem.store.engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return [tuple(r) for r in result.all()] if result.returns_rows else []


async def both_write(tandem: Tandem, messenger: FakeMessenger) -> None:
    checkin = await ask(tandem, messenger)
    await tandem.handle(said(ALICE, action=tap(checkin, 4)))
    [saved] = await tandem.handle(
        said(ALICE, ALICE_NOTE, reply_to=messenger.message_id_of(checkin))
    )
    assert "Note saved" in saved.text
    await tandem.handle(said(ALICE, f"/promise {ALICE_PROMISE} by fri"))
    await tandem.handle(said(BOB, action=tap(checkin, 3)))
    await tandem.handle(said(BOB, f"/promise {BOB_PROMISE} by fri"))


async def member_id(tandem: Tandem, name: str) -> int:
    [(found,)] = await raw(tandem, "SELECT id FROM member WHERE display_name = :n", n=name)
    return int(str(found))


@pytest.mark.logs_errors("a note moved into Bob's row is refused, and that is logged")
async def test_a_note_moved_into_the_other_partners_row_is_refused_not_shown_as_theirs(
    tandem: Tandem, messenger: FakeMessenger, caplog: pytest.LogCaptureFixture
) -> None:
    """The review's attack: Alice's sealed note copied onto Bob's answer showed in Bob's
    /export as his own. Bound to its row, space and member, it now opens nowhere else."""
    await both_write(tandem, messenger)
    bob = await member_id(tandem, "Bob")
    [(alice_note,)] = await raw(tandem, "SELECT note FROM checkinanswer WHERE note IS NOT NULL")
    await raw(
        tandem, "UPDATE checkinanswer SET note = :v WHERE member_id = :m", v=alice_note, m=bob
    )

    replies = await tandem.handle(said(BOB, "/export", whisper=True))

    assert all(r.attachment is None for r in replies)
    assert "otter" not in " ".join(r.text for r in replies)
    assert "failed with DataKeyError" in caplog.text and "otter" not in caplog.text


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("SELECT note FROM checkinanswer WHERE note IS NOT NULL", "UPDATE promise SET body = :v"),
        ("SELECT body FROM promise ORDER BY id LIMIT 1", "UPDATE promise SET body = :v"),
    ],
    ids=["a note pasted as a promise", "a promise pasted onto another promise"],
)
async def test_a_value_pasted_into_another_column_or_row_is_refused_with_a_clear_error(
    tandem: Tandem, messenger: FakeMessenger, source: str, target: str
) -> None:
    await both_write(tandem, messenger)
    [(value,)] = await raw(tandem, source)
    await raw(tandem, target, v=value)  # every promise row now holds that value
    async with tandem.store.read() as session:
        with pytest.raises(DataKeyError, match=r"promise row \d+ does not belong there"):
            (await session.exec(select(Promise))).all()


async def test_values_in_their_own_place_still_open_for_their_owner(
    tandem: Tandem, messenger: FakeMessenger
) -> None:
    """The control for the refusals above: untouched, everything opens."""
    await both_write(tandem, messenger)
    async with tandem.store.read() as session:
        notes = [a.note for a in (await session.exec(select(CheckinAnswer))).all()]
        bodies = sorted(p.body for p in (await session.exec(select(Promise))).all())
    assert ALICE_NOTE in notes and bodies == sorted([ALICE_PROMISE, BOB_PROMISE])
    [(wrapped,)] = await raw(
        tandem,
        "SELECT wrapped FROM sealkey WHERE member_id = :m",
        m=await member_id(tandem, "Alice"),
    )
    assert str(wrapped).startswith("tk1:")  # the member's key, wrapped by the master key
    taps = await raw(tandem, "SELECT tap, took_part FROM checkinanswer")
    assert taps and all(str(t).startswith("tk2:") and p for t, p in taps)  # scores sealed too


async def database_bytes(tandem: Tandem) -> bytes:
    """Every byte of the tables' files, live and dead rows alike, as a disk thief reads them."""
    if tandem.store.is_sqlite:
        await tandem.store.scrub()  # what the app does after each erase anyway
        database = tandem.store.engine.url.database
        assert database is not None
        return Path(database).read_bytes()  # noqa: ASYNC240
    async with tandem.store.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("CHECKPOINT")  # the pages reach their files
        found = b""
        for name in ("checkinanswer", "promise", "member", "sealkey"):
            page = await autocommit.execute(
                text("SELECT pg_read_binary_file(pg_relation_filepath(:t))"), {"t": name}
            )
            found += bytes(page.scalar_one())
        return found


WRAPPED = re.compile(rb"tk1:[0-9a-f]{8}:[A-Za-z0-9_=-]{96}")  # a 44-character key, sealed
SEALED = re.compile(rb"tk2:[A-Za-z0-9_=-]{20,}")


def opens(tandem: Tandem, wrapped: list[bytes], sealed: bytes, place: Place) -> bool:
    """Whether any key wrapped in `wrapped` (opened with the master key) opens `sealed` there."""
    body = base64.urlsafe_b64decode(sealed[4:])
    for candidate in wrapped:
        try:
            key = _unwrapped(tandem.store.keyring, candidate.decode(), place.member)
            key.decrypt(body[:NONCE], body[NONCE:], place.aad())
        except Exception:
            continue
        return True
    return False


async def test_forget_me_destroys_the_key_so_no_copy_left_in_the_files_opens(
    tandem: Tandem, messenger: FakeMessenger
) -> None:
    """On PostgreSQL a deleted row stays in its page until vacuumed (and in the write-ahead log,
    replicas, backups): what makes it unreadable is that its key is gone. The test reads the raw
    table files, before and after /forget me, with the master key in hand."""
    await both_write(tandem, messenger)
    alice = await member_id(tandem, "Alice")
    [(row, space, note)] = await raw(
        tandem,
        "SELECT id, space_id, note FROM checkinanswer WHERE member_id = :m AND note IS NOT NULL",
        m=alice,
    )
    place = Place("checkinanswer", "note", int(str(row)), int(str(space)), alice)
    [(wrapped,)] = await raw(tandem, "SELECT wrapped FROM sealkey WHERE member_id = :m", m=alice)

    before = await database_bytes(tandem)
    assert str(note).encode() in before and str(wrapped).encode() in before
    assert opens(tandem, WRAPPED.findall(before), str(note).encode(), place)  # the control

    [confirm] = await tandem.handle(said(ALICE, "/forget me"))
    await tandem.handle(said(ALICE, action=confirm.buttons[0].action, whisper=True))

    after = await database_bytes(tandem)
    for _ in range(40):  # a liveness wait, PostgreSQL only: see below
        if str(wrapped).encode() not in after:
            break
        # PostgreSQL keeps a deleted row version while any older transaction may still see it
        # (here: other tests' transactions in the same server), and the scrub's VACUUM FULL
        # then keeps it too; the daily housekeeping scrubs again. Wait for that horizon.
        await asyncio.sleep(0.25)
        await tandem.store.scrub()
        after = await database_bytes(tandem)
    assert str(wrapped).encode() not in after  # the key's every copy is gone from the files
    leftovers = SEALED.findall(after)
    if tandem.store.is_sqlite:
        assert str(note).encode() not in after  # secure_delete overwrote the row itself
    for sealed in {*leftovers, str(note).encode()}:
        assert not opens(tandem, WRAPPED.findall(after), sealed, place)
    assert await raw(tandem, "SELECT 1 FROM sealkey WHERE member_id = :m", m=alice) == []
    mine = await export_of(
        tandem, said(BOB, "/export", whisper=True)
    )  # Bob's key is his, untouched
    assert mine.attachment is not None and BOB_PROMISE in mine.attachment.data.decode()


async def test_a_member_and_their_side_written_in_one_go_get_their_key_in_that_transaction(
    tandem: Tandem,
) -> None:
    """The key table's reference to its member is checked at commit: a new member whose side
    is written at once (its id taken before the insert) keeps both."""
    await tandem.handle(said(ALICE, "/start"))
    async with tandem.store.unit() as session:
        [member] = (await session.exec(select(Member))).all()
        twin = Member(
            space_id=member.space_id,
            user_id="twin",
            display_name="Twin",
            joined_at=member.joined_at,
            side="doubting",
        )
        session.add(twin)
    async with tandem.store.read() as session:
        found = (await session.exec(select(Member).where(Member.user_id == "twin"))).one()
    assert found.side == "doubting" and found.id is not None
