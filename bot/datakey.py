"""Where the data key comes from, proving it at start-up, sealing old rows, and key rotation."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import platformdirs
import sqlmodel
from sqlalchemy import Table, func, inspect, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.crypto import V2, DataKeyError, Keyring, Sealed, new_key, wrap_purpose
from bot.delivery.leases import LEASE
from bot.migrate import upgrade
from bot.sealing import placed
from bot.settings import Settings
from bot.single import hold_sqlite
from bot.store import (
    CheckinAnswer,
    DataKey,
    Instance,
    Member,
    NoteOffer,
    Promise,
    QuestionAnswer,
    SealKey,
    Store,
    sqlite_path,
)
from bot.tables import REPAIR_STEPS, RepairPart

log = logging.getLogger(__name__)

PROOF = "tandem data key proof"
PROOF_PURPOSE = "proof"
BATCH = 500
KEY_FILE_HEADER = (
    "# Tandem's data key: it decrypts notes and promises. Back it up apart from the database;\n"
    "# without it they cannot be read. Newest key first; an older one only during a rotation.\n"
)
# Every column of the Sealed type (bot/store.py).
SEALED: tuple[tuple[Table, str], ...] = (
    (CheckinAnswer.__table__, "note"),  # type: ignore[attr-defined]
    (Promise.__table__, "body"),  # type: ignore[attr-defined]
    (Member.__table__, "side"),  # type: ignore[attr-defined]
    (QuestionAnswer.__table__, "text"),  # type: ignore[attr-defined]
    (CheckinAnswer.__table__, "tap"),  # type: ignore[attr-defined]
    (Promise.__table__, "outcome"),  # type: ignore[attr-defined]
    (CheckinAnswer.__table__, "hurt"),  # type: ignore[attr-defined]
    (NoteOffer.__table__, "text"),  # type: ignore[attr-defined]
    *((RepairPart.__table__, step) for step in REPAIR_STEPS),  # type: ignore[attr-defined]
)
# Columns sealed by a later migration, with it: values stored before it are sealed at the first
# start after it (the migration never sees the key), as notes were after 0006.
# 0013: each value resealed from the master key to its member's own key, bound to its place.
SEALED_SINCE = {
    "0012": ((Member.__table__, "side"),),  # type: ignore[attr-defined]
    "0013": SEALED,
    "0014": (
        (CheckinAnswer.__table__, "tap"),  # type: ignore[attr-defined]
        (Promise.__table__, "outcome"),  # type: ignore[attr-defined]
    ),
}


@dataclass(frozen=True)
class KeySource:
    """Where the keys live: the environment (read-only for us) or a key file."""

    keyring: Keyring | None
    file: Path
    from_env: bool


def key_file_path(settings: Settings) -> Path:
    """TANDEM_KEY_FILE; else a key file of this database's own in the user's config folder, apart
    from the database, so a backup of the data folder never carries the key that opens it. An
    install from before keeps the key file it made beside the database (warned at each start)."""
    if settings.tandem_key_file is not None:
        return settings.tandem_key_file
    apart = default_key_file(settings.database_url)
    beside = legacy_key_file(settings.database_url)
    if not apart.exists() and beside.exists():
        return beside
    return apart


def default_key_file(database_url: str) -> Path:
    """One key file per database (a rotation for one never touches another's), named after it:
    ~/.config/tandem/keys/tandem-3f2a9c1e.key for data/tandem.db."""
    url = make_url(database_url)
    database = sqlite_path(database_url)
    if database is not None:
        name, where = database.stem, str(database.expanduser().resolve())
    else:
        name = url.database or url.get_backend_name()
        where = f"{url.get_backend_name()}://{url.host}:{url.port}/{url.database}"
    tag = hashlib.sha256(where.encode()).hexdigest()[:8]
    return platformdirs.user_config_path("tandem") / "keys" / f"{name}-{tag}.key"


def legacy_key_file(database_url: str) -> Path:
    """Where installs before 0.2 made the key: beside the SQLite database, or in ./data."""
    database = sqlite_path(database_url)
    return (database.parent if database is not None else Path("data")) / "tandem.key"


class KeyPlace(StrEnum):
    """Where the key that opens the notes is, as /privacy tells the couple."""

    APART = "apart"  # a file apart from the database
    ENVIRONMENT = "environment"  # TANDEM_DATA_KEY
    BESIDE = "beside"  # a file in the database's own folder: a backup of it carries both


def key_place(settings: Settings) -> KeyPlace:
    if settings.tandem_data_key is not None:
        return KeyPlace.ENVIRONMENT
    database = sqlite_path(settings.database_url)
    path = key_file_path(settings)
    if database is not None and _folder(path) == _folder(database):
        return KeyPlace.BESIDE
    return KeyPlace.APART


def _folder(path: Path) -> Path:
    return path.expanduser().resolve().parent


def find_keys(settings: Settings) -> KeySource:
    """The keys as configured, without creating anything."""
    path = key_file_path(settings)
    if settings.tandem_data_key is not None:
        try:
            keyring = Keyring.parse(settings.tandem_data_key.get_secret_value())
        except DataKeyError as err:
            raise DataKeyError(f"TANDEM_DATA_KEY is not a valid data key: {err}") from None
        return KeySource(keyring, path, from_env=True)
    try:
        content = path.read_text()
    except FileNotFoundError:
        return KeySource(None, path, from_env=False)
    except OSError as err:
        raise DataKeyError(f"cannot read the key file {path}: {err.strerror}") from None
    try:
        return KeySource(Keyring.parse(content), path, from_env=False)
    except DataKeyError as err:
        raise DataKeyError(f"the key file {path} is not a valid data key: {err}") from None


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_new(path: Path, keys: list[str]) -> None:
    """Writes a file that must not exist yet, mode 0600 from the first byte, and syncs it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (KEY_FILE_HEADER + "".join(f"{k}\n" for k in keys)).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def create_key_file(path: Path) -> Keyring:
    """The first start's key. O_EXCL: a file that appeared meanwhile is used, never overwritten."""
    for folder in (path.parent.parent, path.parent):  # ~/.config/tandem/keys: both closed
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_key()
    try:
        _write_new(path, [key])
    except FileExistsError:
        return Keyring.parse(path.read_text())
    _fsync_dir(path.parent)
    return Keyring([key])


def replace_key_file(path: Path, keys: list[str]) -> None:
    """Swaps the key file's content in one rename, so a crash leaves the old or the new file."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    _write_new(temporary, keys)
    os.replace(temporary, path)
    _fsync_dir(path.parent)


async def read_proof(engine: AsyncEngine) -> str | None:
    """The sealed proof, or None when the database has never had a key (or does not exist yet)."""
    found = await _evidence(engine, proof_only=True)
    return None if found is None else found[0]


async def _evidence(engine: AsyncEngine, *, proof_only: bool = False) -> tuple[str, str] | None:
    """A sealed value and its purpose that only the right key opens: the proof row, or else
    (a first start stopped before writing it) any sealed note or promise; None: never keyed."""

    def read(conn: Connection) -> tuple[str, str] | None:
        tables = set(inspect(conn).get_table_names())
        if "datakey" in tables:
            row = conn.execute(text("SELECT proof FROM datakey ORDER BY id LIMIT 1")).first()
            if row is not None:
                return str(row[0]), PROOF_PURPOSE
        if proof_only:
            return None
        if "sealkey" in tables:
            row = conn.execute(text("SELECT member_id, wrapped FROM sealkey LIMIT 1")).first()
            if row is not None:
                return str(row[1]), wrap_purpose(int(row[0]))
        for table, name, purpose in (
            ("checkinanswer", "note", "note"),
            ("promise", "body", "promise"),
        ):
            if table in tables:
                query = f"SELECT {name} FROM {table} WHERE {name} LIKE 'tk1:%' LIMIT 1"
                row = conn.execute(text(query)).first()
                if row is not None:
                    return str(row[0]), purpose
        return None

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def opens(engine: AsyncEngine, keyring: Keyring | None) -> bool | None:
    """Whether `keyring` opens this database: None if it never had a key, False if it did and
    none is given. Reads only (`tandem doctor`)."""
    evidence = await _evidence(engine)
    if evidence is None:
        return None
    return keyring is not None and keyring.opens(*evidence)


async def unlock(engine: AsyncEngine, settings: Settings) -> Keyring:
    """The keyring that opens this database; raises DataKeyError having written nothing to it.

    With no key configured: a database that never had one gets a new key file; one that did
    (its proof row, or any sealed value, is there) stops, since a new key could not read it.
    """
    # The database first, the file second: another instance starting beside this one writes its
    # new key file before the proof, so a proof seen here means its file is there to be read.
    evidence = await _evidence(engine)
    source = find_keys(settings)
    if source.keyring is None:
        if evidence is not None:
            raise DataKeyError(
                f"this database's notes are encrypted, but there is no data key: set "
                f"TANDEM_DATA_KEY or put back the key file {source.file} from your backup. "
                "Nothing was changed."
            )
        try:
            keyring = create_key_file(source.file)
        except OSError as err:
            # A container whose secret was not mounted: /run/secrets is not the user's to write,
            # and a key made on the container's own disk would die with it anyway.
            raise DataKeyError(
                f"there is no data key, and none could be made at {source.file} "
                f"({err.strerror or type(err).__name__}). Set TANDEM_DATA_KEY, or put the key "
                "file there (in a container: mount it as a secret, see the README's Deploy), or "
                "point TANDEM_KEY_FILE at a folder Tandem may write. Nothing was changed."
            ) from None
        log.info("no data key yet: created the key file %s (back it up apart)", source.file)
        return keyring
    if evidence is not None and not source.keyring.opens(*evidence):
        where = "TANDEM_DATA_KEY" if source.from_env else f"the key file {source.file}"
        raise DataKeyError(
            f"the data key in {where} does not open this database (a wrong or changed key). "
            "Nothing was changed."
        )
    return source.keyring


async def seal_proof(store: Store) -> None:
    """Records (or renews) the proof under the newest key, before any data is sealed with it."""
    proof = store.keyring.seal(PROOF, PROOF_PURPOSE)
    async with store.unit() as session:
        found = (
            await session.exec(sqlmodel.select(DataKey).order_by(sqlmodel.col(DataKey.id)))
        ).first()
        row = found or DataKey(proof=proof, sealed_at=_now())
        row.proof, row.sealed_at = proof, _now()
        session.add(row)


def _now() -> datetime:
    return datetime.now(UTC)


async def reseal(
    store: Store,
    *,
    batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
    columns: tuple[tuple[Table, str], ...] = SEALED,
) -> int:
    """Seals with its member's own key, in its place, every value not yet so: plain ones from
    before encryption, and "tk1:" ones the master key sealed before 0013. Returns how many.

    Each batch is its own transaction, and a resealed value no longer matches the filter, so an
    interrupted run leaves every value readable and the next run carries on where it stopped.
    """
    total = 0
    for table, name in columns:
        column = table.c[name]
        sealed = column.type
        assert isinstance(sealed, Sealed)
        member = table.c[sealed.member_column]
        stale = ~column.startswith(f"{V2}:")
        after = 0  # walking by id, so even a value that would not reseal can't loop forever
        while True:
            async with store.unit() as session:
                conn = await session.connection()
                rows = (
                    await conn.execute(
                        select(table.c.id, table.c.space_id, member, column)
                        .where(table.c.id > after, column.is_not(None), stale)
                        .order_by(table.c.id)
                        .limit(batch)
                    )
                ).all()
                for row_id, space_id, member_id, plain in rows:
                    value = await conn.run_sync(placed, sealed, row_id, space_id, member_id, plain)
                    await conn.execute(
                        update(table).where(table.c.id == row_id).values({name: value})
                    )
            if not rows:
                break
            after = rows[-1][0]
            total += len(rows)
            if on_batch is not None:
                on_batch(total)
    if total:
        await store.scrub()  # the old copies leave the SQLite write-ahead log too
    return total


async def rewrap(
    store: Store, *, batch: int = BATCH, on_batch: Callable[[int], None] | None = None
) -> int:
    """Wraps every member's data key with the newest master key (a rotation): the keys, not the
    data, change, so this is one small row per member. Returns how many."""
    total, after = 0, 0
    while True:
        async with store.unit() as session:
            conn = await session.connection()
            rows = (
                await conn.execute(
                    select(SealKey.member_id, SealKey.wrapped)  # type: ignore[call-overload]
                    .where(SealKey.member_id > after)
                    .order_by(SealKey.member_id)
                    .limit(batch)
                )
            ).all()
            for member_id, wrapped in rows:
                if wrapped.startswith(store.keyring.prefix()):
                    continue
                raw = store.keyring.open(wrapped, wrap_purpose(member_id))
                await conn.execute(
                    update(SealKey)
                    .where(sqlmodel.col(SealKey.member_id) == member_id)
                    .values(wrapped=store.keyring.seal(raw, wrap_purpose(member_id)))
                )
                total += 1
        if not rows:
            break
        after = rows[-1][0]
        if on_batch is not None:
            on_batch(total)
    if total:
        await store.scrub()
    return total


# Any constant of our own: the PostgreSQL advisory lock instances take turns starting under.
STARTING_LOCK = 0x7A4D_0001


@contextlib.asynccontextmanager
async def one_starting_at_a_time(engine: AsyncEngine) -> AsyncIterator[None]:
    """Instances started at once on one PostgreSQL database take turns through the key's proof,
    the migration and the first sealing: without it two made their own keys on an empty database
    and one crashed mid-migration. (SQLite has one process: the run lock sees to that.)"""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        await connection.execute(text(f"SELECT pg_advisory_lock({STARTING_LOCK})"))
        await connection.commit()  # a session lock: it outlives the transaction, not the session
        try:
            yield
        finally:
            await connection.execute(text(f"SELECT pg_advisory_unlock({STARTING_LOCK})"))
            await connection.commit()


@dataclass(frozen=True)
class Watch:
    """Who hears how far a start has got (`tandem migrate`'s progress bars)."""

    revisions: Callable[[int, int], None] | None = None  # (applied, of all)
    sealed: Callable[[int], None] | None = None  # values sealed so far


async def open_store(engine: AsyncEngine, settings: Settings, watch: Watch = Watch()) -> Store:
    """Start-up: prove the key before anything is written, then migrate and seal old rows."""
    try:
        async with one_starting_at_a_time(engine):
            return await _open(engine, settings, watch)
    except BaseException:
        await engine.dispose()
        raise


def key_warnings(settings: Settings) -> list[str]:
    """A key file others on the machine may read, or one beside the database (a backup of the
    folder then carries the key with what it opens): said at each start, with the fix."""
    if settings.tandem_data_key is not None:
        return []
    path = key_file_path(settings)  # only its mode: unlock has read the key already
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return []
    warnings = []
    if mode & 0o077:
        warnings.append(
            f"the key file {path} can be read by other users of this machine (mode "
            f"{mode:o}): run chmod 600 {path}"
        )
    if key_place(settings) is KeyPlace.BESIDE:
        apart = default_key_file(settings.database_url)
        warnings.append(
            f"the key file {path} sits beside the database, so a backup of that folder carries "
            f"the key with the notes it opens: stop Tandem, then run "
            f"mkdir -p {apart.parent} && mv {path} {apart} (or set TANDEM_KEY_FILE)"
        )
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


async def _open(engine: AsyncEngine, settings: Settings, watch: Watch) -> Store:
    keyring = await unlock(engine, settings)
    key_warnings(settings)
    store = Store(engine, keyring, key_place=key_place(settings))
    before = await upgrade(engine, watch.revisions)
    if before is not None:
        for revision, columns in SEALED_SINCE.items():
            if before < revision:
                await reseal(store, columns=columns, on_batch=watch.sealed)
    if await read_proof(engine) is None:
        # The first start with a key: what was stored before encryption is sealed first, and
        # only then the proof marks the database as keyed, so an interrupted start redoes it.
        sealed = await reseal(store, on_batch=watch.sealed)
        if sealed:
            log.info("encrypted %d note(s) and promise(s) stored before encryption", sealed)
        await seal_proof(store)
    return store


@dataclass(frozen=True)
class Rotation:
    """What `tandem keys rotate` did, for the command line to report."""

    resealed: int
    key_id: str
    new_env_key: str | None = None  # from the environment: the key the operator must add first


async def rotate(
    engine: AsyncEngine,
    settings: Settings,
    *,
    batch: int = BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> Rotation:
    """Re-encrypts everything with a new key; the old key opens data until the very end.

    Key file: the new key is written in front of the old one first, then data is resealed in
    batches, then the old key is dropped. A file that already holds two keys is an interrupted
    rotation: it is carried on, not started again. TANDEM_DATA_KEY: with one key, a new one is
    made for the operator to put in front ("new,old"); with two, data is resealed to the first.
    """
    # A running instance keeps sealing with the key it started with, which rotation then drops:
    # on SQLite the run lock keeps one from running meanwhile; on PostgreSQL no instance may be
    # alive, and none can start while the rotation holds the starting lock.
    lock = hold_sqlite(settings.database_url)
    try:
        async with one_starting_at_a_time(engine):
            return await _rotate(engine, settings, batch=batch, on_batch=on_batch)
    finally:
        if lock is not None:
            lock.release()


async def running_instances(engine: AsyncEngine) -> int:
    """Instances that beat within a lease (none on a database that never ran one)."""

    def count(conn: Connection) -> int:
        if "instance" not in inspect(conn).get_table_names():
            return 0
        since = datetime.now(UTC) - LEASE
        found = conn.execute(
            select(func.count())
            .select_from(Instance)
            .where(sqlmodel.col(Instance.beat_at) >= since)
        )
        return int(found.scalar_one())

    async with engine.connect() as conn:
        return await conn.run_sync(count)


async def rotation_rows(engine: AsyncEngine) -> int:
    """About how many rows a rotation walks (member keys, and values not sealed per member yet),
    for its progress bar; reads only."""

    def count(conn: Connection) -> int:
        tables = set(inspect(conn).get_table_names())
        rows = 0
        if "sealkey" in tables:
            rows += int(conn.execute(select(func.count()).select_from(SealKey)).scalar_one())
        for table, name in SEALED:
            if table.name in tables:
                column = table.c[name]
                stale = column.is_not(None) & ~column.startswith(f"{V2}:")
                rows += int(conn.execute(select(func.count()).where(stale)).scalar_one())
        return rows

    async with engine.connect() as conn:
        return await conn.run_sync(count)


async def _rotate(
    engine: AsyncEngine,
    settings: Settings,
    *,
    batch: int,
    on_batch: Callable[[int], None] | None,
) -> Rotation:
    running = await running_instances(engine)
    if running:
        raise DataKeyError(
            f"{running} Tandem instance(s) are running on this database (a heartbeat within "
            f"{int(LEASE.total_seconds())} s): stop them all, then rotate. Nothing was changed."
        )
    store = await _open(engine, settings, Watch())
    source = find_keys(settings)
    current = [k.text for k in store.keyring.keys]
    if source.from_env and len(current) == 1:
        return Rotation(0, store.keyring.primary.id, new_env_key=new_key())
    if not source.from_env and len(current) == 1:
        current = [new_key(), *current]
        replace_key_file(source.file, current)
    keyring = Keyring(current)
    store = Store(engine, keyring)
    await seal_proof(store)  # from here on, only a keyring with the new key opens the database
    count = await rewrap(store, batch=batch, on_batch=on_batch)
    rewrapped = count  # on_batch counts the whole rotation, the reseal after the rewrap
    count += await reseal(
        store, batch=batch, on_batch=None if on_batch is None else lambda n: on_batch(rewrapped + n)
    )
    if not source.from_env:
        replace_key_file(source.file, current[:1])
    return Rotation(count, keyring.primary.id)
