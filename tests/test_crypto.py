"""Encryption at rest: notes and promises never reach the disk or a dump in the clear; the key is
proven at start-up, made once with mode 0600, and rotates without ever leaving data unreadable."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Connection, create_engine, text

from bot import datakey
from bot.content import Library
from bot.crypto import DataKeyError, Keyring, new_key
from bot.datakey import open_store, rotate
from bot.delivery.leases import beat, leave
from bot.service import Tandem
from bot.settings import Settings
from bot.single import AlreadyRunning, hold_sqlite
from bot.store import make_engine
from tests.conftest import (
    _postgres_database,
    database_at,
    export_of,
    one,
    pg_required,
    privacy_text,
)
from tests.fakes import ALICE, BOB, FakeMessenger, FixedClock, said
from tests.test_checkins import ask, tap

NOTE = "zebra umbrella: I felt heard at dinner"
PROMISE = "walk the quokka trail together"


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own TANDEM_DATA_KEY must not leak into these tests."""
    for name in ("TANDEM_DATA_KEY", "TANDEM_KEY_FILE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def settings(url: str, **kw: object) -> Settings:
    return Settings(_env_file=None, database_url=url, **kw)  # type: ignore[call-arg]


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/tandem.db"


def key_of(tmp_path: Path) -> Path:
    """The key file the first start makes for that database: in the user's config folder."""
    return datakey.default_key_file(sqlite(tmp_path))


async def start(config: Settings, library: Library) -> tuple[Tandem, FakeMessenger]:
    """The core on the store the app opens: key proven, migrated, old rows sealed."""
    messenger = FakeMessenger()
    store = await open_store(make_engine(config.database_url), config)
    return Tandem(store, FixedClock(), library, messenger), messenger  # type: ignore[arg-type]


async def write_note_and_promise(tandem: Tandem, messenger: FakeMessenger) -> None:
    checkin = await ask(tandem, messenger)
    reply_to = messenger.message_id_of(checkin)
    [saved] = await tandem.handle(said(ALICE, NOTE, reply_to=reply_to))
    assert "Note saved" in saved.text
    await tandem.handle(said(ALICE, action=tap(checkin, 4)))
    await tandem.handle(said(BOB, action=tap(checkin, 3)))  # the reveal: the note is shown
    [made] = await tandem.handle(said(ALICE, f"/promise {PROMISE} by fri"))
    assert PROMISE in made.text


async def exported(tandem: Tandem) -> str:
    reply = await export_of(tandem, said(ALICE, "/export", whisper=True))
    assert reply.attachment is not None
    return reply.attachment.data.decode()


def on_disk(db: Path) -> bytes:
    """The SQLite file and its write-ahead log, as anyone with the disk would read them."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows as the SQLite file holds them, past the sealing type: what a copy of it tells."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def sealed_values(db: Path) -> list[str]:
    notes = stored(db, "SELECT note FROM checkinanswer WHERE note IS NOT NULL")
    return [v for (v,) in notes + stored(db, "SELECT body FROM promise")]


def old_couple(conn: Connection, *, side: str | None = None, bob: bool = False) -> None:
    """Space 1 with Alice (member 1, and Bob as member 2), written as an earlier Tandem did: in
    the columns every revision since 0005 has."""
    conn.execute(
        text(
            "INSERT INTO space (id, platform, chat_id, timezone, topics, active, content_cycle,"
            " created_at, direct, reveal, question_id, apart) VALUES (1, 'test', 'chat-1',"
            " 'UTC', 'gratitude', 1, 0, '2026-11-01', 0, 'together', 'checkin-01', 0)"
        )
    )
    for member, user, name in ((1, "u1", "Alice"), (2, "u2", "Bob"))[: 2 if bob else 1]:
        conn.execute(
            text(
                "INSERT INTO member (id, space_id, user_id, display_name, joined_at, partner,"
                " side_cycle, side) VALUES (:m, 1, :u, :n, '2026-11-01', 1, 0, :side)"
            ),
            {"m": member, "u": user, "n": name, "side": side if member == 1 else None},
        )


def wrapped_keys(db: Path) -> list[str]:
    """Each member's data key as stored: wrapped by the master key, "tk1:<master key id>:…"."""
    return [v for (v,) in stored(db, "SELECT wrapped FROM sealkey")]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_tandem(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TANDEM_", "TELEGRAM_", "DISCORD_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**clean, "DATABASE_URL": sqlite(cwd), **env},
    )


def said_why(result: subprocess.CompletedProcess[str]) -> str:
    """The one line that says why the bot stopped (log lines about starting may come before)."""
    assert "Traceback" not in result.stderr
    [why] = [line for line in result.stderr.splitlines() if line.startswith("tandem: ")]
    return why


async def test_the_sqlite_file_and_its_log_never_hold_a_note_or_a_promise(
    tmp_path: Path, library: Library
) -> None:
    db = tmp_path / "data" / "tandem.db"
    tandem, messenger = await start(settings(sqlite(tmp_path)), library)
    await write_note_and_promise(tandem, messenger)
    raw = on_disk(db)
    assert b"Alice" in raw  # the rows are really there, in a column that is not encrypted
    assert NOTE.encode() not in raw and b"zebra" not in raw
    assert PROMISE.encode() not in raw and b"quokka" not in raw
    assert all(v.startswith("tk2:") for v in sealed_values(db)) and len(sealed_values(db)) == 2
    mine = await exported(tandem)  # /export decrypts for its owner
    assert NOTE in mine and PROMISE in mine
    await tandem.store.close()
    assert b"zebra" not in on_disk(db) and b"quokka" not in on_disk(db)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if shutil.which("pg_dump") is None:
        missing = "pg_dump is not installed: the PostgreSQL dump cannot be checked"
        if pg_required():
            pytest.fail(f"{missing} (apt install postgresql-client)", pytrace=False)
        pytest.skip(missing)
    yield from _postgres_database()


@pytest.mark.postgres
async def test_a_postgresql_dump_holds_no_note_or_promise(
    postgres_url: str, tmp_path: Path, library: Library
) -> None:
    config = settings(postgres_url, tandem_key_file=tmp_path / "tandem.key")
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    assert NOTE in await exported(tandem)
    await tandem.store.close()
    dumped = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--data-only", postgres_url],
        capture_output=True,
        text=True,
        check=True,
    )
    dump = dumped.stdout
    assert "Alice" in dump and "tk2:" in dump  # the rows are there, sealed
    assert "zebra" not in dump and "quokka" not in dump


def test_the_first_start_makes_a_key_file_only_its_owner_can_read(tmp_path: Path) -> None:
    first = run_tandem(["console"], tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = key_of(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keyring = Keyring.parse(key_file.read_text())
    assert len(keyring.keys) == 1
    assert keyring.primary.text.encode() not in on_disk(tmp_path / "data" / "tandem.db")
    before = key_file.read_text()
    assert run_tandem(["console"], tmp_path).returncode == 0
    assert key_file.read_text() == before  # made once, never replaced


async def test_two_instances_starting_together_share_the_first_ones_new_key(
    tmp_path: Path, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several instances on one database with one key file, started at once (CI's fleet): the
    other one finishes its whole first start while this one is looking at the database."""
    config = settings(sqlite(tmp_path))
    reads = datakey._evidence
    other: list[Tandem] = []
    began = False

    async def the_other_starts_meanwhile(engine: object, **kw: bool) -> object:
        nonlocal began
        if not began:
            began = True
            tandem, _ = await start(config, library)  # writes the key file, then the proof
            other.append(tandem)
        return await reads(engine, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(datakey, "_evidence", the_other_starts_meanwhile)
    mine, _ = await start(config, library)  # must not stop with "there is no data key"
    monkeypatch.setattr(datakey, "_evidence", reads)
    assert mine.store.keyring.opens(*(await datakey._evidence(mine.store.engine)))  # type: ignore[misc]
    await mine.store.close()
    await other[0].store.close()


async def test_a_wrong_or_missing_key_stops_the_bot_and_changes_nothing(
    tmp_path: Path, library: Library
) -> None:
    tandem, messenger = await start(settings(sqlite(tmp_path)), library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    db = tmp_path / "data" / "tandem.db"
    key_file = key_of(tmp_path)
    fingerprint = digest(db)

    wrong = run_tandem(["run"], tmp_path, TANDEM_DATA_KEY=new_key())
    assert wrong.returncode == 2
    assert said_why(wrong) == (
        "tandem: the data key in TANDEM_DATA_KEY does not open this database (a wrong or "
        "changed key). Nothing was changed."
    )
    assert digest(db) == fingerprint

    malformed = run_tandem(["run"], tmp_path, TANDEM_DATA_KEY="hunter2")
    assert (
        malformed.returncode == 2 and "TANDEM_DATA_KEY is not a valid data key" in malformed.stderr
    )
    assert digest(db) == fingerprint

    key_file.rename(tmp_path / "backup.key")
    missing = run_tandem(["run"], tmp_path)
    assert missing.returncode == 2
    assert "there is no data key" in said_why(missing) and str(key_file) in said_why(missing)
    assert not key_file.exists()  # no new key that could never read the old notes
    assert digest(db) == fingerprint

    (tmp_path / "backup.key").rename(key_file)  # the backup comes back: all is readable
    tandem, _ = await start(settings(sqlite(tmp_path)), library)
    assert NOTE in await exported(tandem)
    await tandem.store.close()


async def test_a_key_from_the_environment_is_used_and_no_file_is_made(
    tmp_path: Path, library: Library
) -> None:
    key = new_key()
    config = settings(sqlite(tmp_path), tandem_data_key=SecretStr(key))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    assert not (key_of(tmp_path)).exists()
    assert b"zebra" not in on_disk(tmp_path / "data" / "tandem.db")
    again, _ = await start(config, library)
    assert NOTE in await exported(again)
    await again.store.close()
    with pytest.raises(DataKeyError, match="there is no data key"):  # the variable unset
        await open_store(make_engine(config.database_url), settings(sqlite(tmp_path)))
    assert not (key_of(tmp_path)).exists()


class Interrupted(Exception):
    pass


def stop_after_first_batch(done: int) -> None:
    raise Interrupted(done)


async def test_rotation_reseals_everything_and_survives_an_interruption(
    tmp_path: Path, library: Library
) -> None:
    config = settings(sqlite(tmp_path))
    db = tmp_path / "data" / "tandem.db"
    key_file = key_of(tmp_path)
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    for n in range(4):
        await tandem.handle(said(ALICE, f"/promise step {n} of the plan by fri"))
    await tandem.handle(said(BOB, "/promise bring the map by fri"))  # Bob's own key too
    await tandem.store.close()
    old = Keyring.parse(key_file.read_text()).primary
    data_before = sealed_values(db)

    engine = make_engine(config.database_url)
    with pytest.raises(Interrupted):
        await rotate(engine, config, batch=1, on_batch=stop_after_first_batch)
    await engine.dispose()
    keys = Keyring.parse(key_file.read_text()).keys
    assert [k.id for k in keys][1:] == [old.id] and keys[0].id != old.id  # new first, old kept
    new = keys[0]
    kinds = {v.split(":")[1] for v in wrapped_keys(db)}
    assert kinds == {old.id, new.id}  # half way: both keys in use, and both open
    assert sealed_values(db) == data_before  # the members' keys are rewrapped, not the data
    tandem, _ = await start(config, library)
    mine = await exported(tandem)
    assert NOTE in mine and PROMISE in mine and "step 3 of the plan" in mine
    await tandem.store.close()

    engine = make_engine(config.database_url)
    done = await rotate(engine, config, batch=1)  # run again: it carries on, no third key
    await engine.dispose()
    assert done.key_id == new.id and done.resealed >= 1
    assert [k.id for k in Keyring.parse(key_file.read_text()).keys] == [new.id]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert {v.split(":")[1] for v in wrapped_keys(db)} == {new.id}
    tandem, _ = await start(config, library)
    mine = await exported(tandem)
    assert NOTE in mine and PROMISE in mine and "step 0 of the plan" in mine
    await tandem.store.close()
    old_only = settings(sqlite(tmp_path), tandem_data_key=SecretStr(old.text))
    with pytest.raises(DataKeyError, match="does not open"):
        await open_store(make_engine(config.database_url), old_only)


async def test_rotation_with_the_key_in_the_environment_takes_new_comma_old(
    tmp_path: Path, library: Library
) -> None:
    old = new_key()
    config = settings(sqlite(tmp_path), tandem_data_key=SecretStr(old))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    db = tmp_path / "data" / "tandem.db"
    before = sealed_values(db)

    engine = make_engine(config.database_url)
    step = await rotate(engine, config)  # one key: a new one is proposed, nothing changes
    await engine.dispose()
    assert step.new_env_key is not None and sealed_values(db) == before

    both = settings(sqlite(tmp_path), tandem_data_key=SecretStr(f"{step.new_env_key},{old}"))
    engine = make_engine(config.database_url)
    done = await rotate(engine, both)
    await engine.dispose()
    assert done.resealed == 2 and done.key_id == Keyring([step.new_env_key]).primary.id
    assert {v.split(":")[1] for v in wrapped_keys(db)} == {done.key_id}
    tandem, _ = await start(
        settings(sqlite(tmp_path), tandem_data_key=SecretStr(step.new_env_key)), library
    )
    assert NOTE in await exported(tandem)
    await tandem.store.close()


async def test_rotation_refuses_while_tandem_runs_on_the_sqlite_file(
    tmp_path: Path, library: Library
) -> None:
    config = settings(sqlite(tmp_path))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    key_file = key_of(tmp_path)
    before = key_file.read_text()
    running = hold_sqlite(config.database_url)  # what `tandem run` holds while it runs
    assert running is not None
    try:
        engine = make_engine(config.database_url)
        with pytest.raises(AlreadyRunning, match="already running"):
            await rotate(engine, config)
        await engine.dispose()
    finally:
        running.release()
    assert key_file.read_text() == before  # not a key dropped while the bot sealed with it
    await tandem.store.close()


@pytest.mark.postgres
async def test_rotation_refuses_while_an_instance_beats_on_postgresql(
    postgres_url: str, tmp_path: Path, library: Library
) -> None:
    config = settings(postgres_url, tandem_key_file=tmp_path / "tandem.key")
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    now = datetime.now(UTC)
    await beat(tandem.store, "instance-a", now, now)  # a running instance's heartbeat
    before = (tmp_path / "tandem.key").read_text()
    engine = make_engine(postgres_url)
    with pytest.raises(DataKeyError, match="1 Tandem instance"):
        await rotate(engine, config)
    await engine.dispose()
    assert (tmp_path / "tandem.key").read_text() == before
    await leave(tandem.store, "instance-a")  # it stops: now the rotation goes ahead
    engine = make_engine(postgres_url)
    done = await rotate(engine, config)
    await engine.dispose()
    assert done.resealed == 2  # Alice's and Bob's own keys, rewrapped
    await tandem.store.close()


def test_tandem_keys_rotate_on_the_command_line(tmp_path: Path) -> None:
    assert run_tandem(["console"], tmp_path).returncode == 0
    key_file = key_of(tmp_path)
    old = Keyring.parse(key_file.read_text()).primary.id
    result = run_tandem(["keys", "rotate"], tmp_path)
    assert result.returncode == 0, result.stderr
    [new] = Keyring.parse(key_file.read_text()).keys
    assert new.id != old and f"with key {new.id}" in result.stdout
    assert run_tandem(["console"], tmp_path).returncode == 0


async def test_notes_and_promises_from_before_encryption_are_sealed_at_the_first_start(
    tmp_path: Path, library: Library
) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "tandem.db"
    with database_at(f"sqlite:///{db}", "0005") as (conn, _):
        old_couple(conn)
        conn.execute(
            text(
                "INSERT INTO checkinanswer (space_id, member_id, local_date, score, skipped, note,"
                " share_note, answered_at, updated_at) VALUES (1, 1, '2026-11-20', 4, 0, :note, 1,"
                " '2026-11-20', '2026-11-20')"
            ),
            {"note": NOTE},
        )
        conn.execute(
            text(
                "INSERT INTO promise (space_id, member_id, body, shared, made_at, due_date, status,"
                " asks) VALUES (1, 1, :body, 1, '2026-11-20', '2026-11-27', 'open', 0)"
            ),
            {"body": PROMISE},
        )
        conn.execute(
            text(
                "INSERT INTO once (space_id, key, at) VALUES (1, 'reveal:2026-11-20', '2026-11-20')"
            )
        )
        conn.execute(  # the promise's follow-up, which must outlive the column's widening
            text(
                "INSERT INTO delivery (space_id, kind, recipient, local_date, due_at, status,"
                " attempts, promise_id) VALUES (1, 'promise', 1, '2026-11-27', '2026-11-27',"
                " 'sent', 1, 1)"
            )
        )
    assert b"zebra" in on_disk(db)  # the old way: in the clear

    tandem, _ = await start(settings(sqlite(tmp_path)), library)
    assert all(v.startswith("tk2:") for v in sealed_values(db))
    mine = await exported(tandem)
    assert NOTE in mine and PROMISE in mine
    await tandem.store.close()
    assert b"zebra" not in on_disk(db) and b"quokka" not in on_disk(db)
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        follow_ups = conn.execute(text("SELECT count(*) FROM delivery WHERE promise_id = 1"))
        assert follow_ups.scalar() == 1  # widening promise.body cascaded nothing away
    engine.dispose()


def test_a_sealed_value_is_tamper_evident_and_bound_to_its_column() -> None:
    keyring = Keyring([new_key()])
    sealed = keyring.seal(NOTE, "note")
    assert keyring.open(sealed, "note") == NOTE
    with pytest.raises(DataKeyError):
        keyring.open(sealed, "promise")  # a note's ciphertext pasted in as a promise
    at = len(sealed) - 10
    flipped = sealed[:at] + ("A" if sealed[at] != "A" else "B") + sealed[at + 1 :]
    with pytest.raises(DataKeyError):
        keyring.open(flipped, "note")


async def test_without_the_proof_row_sealed_notes_still_tell_a_wrong_or_missing_key(
    tmp_path: Path, library: Library
) -> None:
    """A first start stopped after sealing old notes but before writing the proof."""
    config = settings(sqlite(tmp_path))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    db = tmp_path / "data" / "tandem.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM datakey"))
    engine.dispose()
    key_file = key_of(tmp_path)
    key_file.rename(tmp_path / "backup.key")
    with pytest.raises(DataKeyError, match="there is no data key"):
        await open_store(make_engine(config.database_url), config)
    assert not key_file.exists()
    wrong = settings(sqlite(tmp_path), tandem_data_key=SecretStr(new_key()))
    with pytest.raises(DataKeyError, match="does not open"):
        await open_store(make_engine(config.database_url), wrong)
    (tmp_path / "backup.key").rename(key_file)
    tandem, _ = await start(config, library)
    assert NOTE in await exported(tandem)
    await tandem.store.close()
    wrong_again = settings(sqlite(tmp_path), tandem_data_key=SecretStr(new_key()))
    with pytest.raises(DataKeyError, match="does not open"):  # the proof is back
        await open_store(make_engine(config.database_url), wrong_again)


@pytest.mark.postgres
async def test_instances_started_at_once_on_an_empty_postgresql_take_turns(
    postgres_url: str, tmp_path: Path
) -> None:
    """Four instances on one new database, one key file (or TANDEM_DATA_KEY) between them: one
    makes the key and migrates, the others find both; none crashes mid-migration."""
    config = settings(postgres_url, tandem_key_file=tmp_path / "shared.key")
    stores = await asyncio.gather(
        *(open_store(make_engine(postgres_url), config) for _ in range(4))
    )
    try:
        keys = {store.keyring.primary.id for store in stores}
        assert len(keys) == 1
        proof = await datakey.read_proof(stores[0].engine)
        assert proof is not None and all(
            s.keyring.opens(proof, datakey.PROOF_PURPOSE) for s in stores
        )
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
async def test_an_instance_with_another_key_refuses_before_writing(
    postgres_url: str, tmp_path: Path
) -> None:
    ours = settings(postgres_url, tandem_key_file=tmp_path / "ours.key")
    theirs = settings(postgres_url, tandem_key_file=tmp_path / "theirs.key")
    results = await asyncio.gather(
        open_store(make_engine(postgres_url), ours),
        open_store(make_engine(postgres_url), theirs),
        return_exceptions=True,
    )
    [opened] = [r for r in results if not isinstance(r, BaseException)]
    [refused] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(refused, DataKeyError) and "Nothing was changed" in str(refused)
    assert not ((tmp_path / "ours.key").exists() and (tmp_path / "theirs.key").exists())
    try:
        proof = await datakey.read_proof(opened.engine)
        assert proof is not None and opened.keyring.opens(proof, datakey.PROOF_PURPOSE)
    finally:
        await opened.close()


async def test_a_new_database_is_closed_to_others_on_the_machine(
    tmp_path: Path, library: Library
) -> None:
    old = os.umask(0o022)  # a usual umask would give 755 and 644
    try:
        tandem, messenger = await start(settings(sqlite(tmp_path)), library)
        await write_note_and_promise(tandem, messenger)
        data = tmp_path / "data"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for name in ("tandem.db", "tandem.db-wal"):
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
        key_file = key_of(tmp_path)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        await tandem.store.close()
    finally:
        os.umask(old)


async def test_a_key_file_others_may_read_is_warned_about_at_start(
    tmp_path: Path, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(sqlite(tmp_path))
    tandem, _ = await start(config, library)
    await tandem.store.close()
    key_file = key_of(tmp_path)
    assert "can be read by other users" not in caplog.text
    key_file.chmod(0o644)
    tandem, _ = await start(config, library)
    await tandem.store.close()
    assert f"the key file {key_file} can be read by other users" in caplog.text
    assert f"chmod 600 {key_file}" in caplog.text


async def test_the_key_is_kept_apart_from_the_database_and_privacy_says_so(
    tmp_path: Path, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    """A backup of the data folder alone must not carry the key that opens its notes."""
    config = settings(sqlite(tmp_path))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    short = await one(tandem, said(ALICE, "/privacy"))
    await tandem.store.close()

    key_file = key_of(tmp_path)
    assert key_file.is_relative_to(Path(os.environ["XDG_CONFIG_HOME"]) / "tandem" / "keys")
    assert sorted(p.name for p in (tmp_path / "data").iterdir() if "key" in p.name) == []
    [key] = Keyring.parse(key_file.read_text()).keys
    backup = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir())
    assert key.text.encode() not in backup
    assert "the key is in a file apart from the database" in short.text
    assert "sits beside the database" not in caplog.text


async def test_a_key_file_beside_the_database_still_opens_it_with_a_warning_and_the_fix(
    tmp_path: Path, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    """An install from before kept its key in data/ beside the database: it is still used (the
    notes stay readable), each start says how to move it, and /privacy tells the truth."""
    config = settings(sqlite(tmp_path))
    tandem, messenger = await start(config, library)
    await write_note_and_promise(tandem, messenger)
    await tandem.store.close()
    apart, beside = key_of(tmp_path), tmp_path / "data" / "tandem.key"
    apart.rename(beside)  # where the earlier Tandem made it

    tandem, _ = await start(config, library)
    assert NOTE in await exported(tandem)
    short = await one(tandem, said(ALICE, "/privacy"))
    await tandem.store.close()
    assert f"the key file {beside} sits beside the database" in caplog.text
    assert f"mv {beside} {apart}" in caplog.text
    assert "for now in a file beside the database" in short.text
    assert not apart.exists()  # never moved behind the operator's back

    caplog.clear()
    beside.rename(apart)  # the fix the warning gave
    tandem, _ = await start(config, library)
    assert NOTE in await exported(tandem)
    await tandem.store.close()
    assert "sits beside the database" not in caplog.text


async def test_a_key_from_the_environment_is_named_so_in_privacy(
    tmp_path: Path, library: Library
) -> None:
    config = settings(sqlite(tmp_path), tandem_data_key=SecretStr(new_key()))
    tandem, _ = await start(config, library)
    full = await privacy_text(tandem, ALICE)
    await tandem.store.close()
    assert "the key is in the settings of whoever runs this bot, apart from the database" in full


def sides(db: Path) -> list[str]:
    return [v for (v,) in stored(db, "SELECT side FROM member WHERE side IS NOT NULL")]


async def test_the_side_chosen_is_sealed_at_rest(tmp_path: Path, library: Library) -> None:
    """The side says who broke trust: a copy of the database must not tell it."""
    config = settings(sqlite(tmp_path))
    db = tmp_path / "data" / "tandem.db"
    tandem, _ = await start(config, library)
    await tandem.handle(said(ALICE, "/start"))
    [asked] = await tandem.handle(said(ALICE, "/perspective", whisper=True))
    doubted = next(b.action for b in asked.buttons if b.action.endswith("doubted"))
    await tandem.handle(said(ALICE, action=doubted, whisper=True))
    [sealed] = sides(db)
    assert sealed.startswith("tk2:") and b"doubted" not in on_disk(db)
    mine = await exported(tandem)
    assert '"side": "doubted"' in mine  # its owner still reads it
    await tandem.store.close()


async def test_a_side_stored_before_sealing_is_sealed_at_the_first_start_after(
    tmp_path: Path, library: Library
) -> None:
    config = settings(sqlite(tmp_path))
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "tandem.db"
    with database_at(f"sqlite:///{db}", "0011") as (conn, _):  # as a Tandem before 0012 left it
        old_couple(conn, side="doubting")
    assert sides(db) == ["doubting"]  # plain

    tandem, _ = await start(config, library)
    [sealed] = sides(db)
    assert sealed.startswith("tk2:")
    assert '"side": "doubting"' in await exported(tandem)
    await tandem.store.close()
