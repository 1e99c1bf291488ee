"""Fixtures: a real SQLite file (and PostgreSQL where the machine has it), the core, fakes."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine

from adapters.console import ConsoleAdapter
from bot.content import Library, default_content_dir, load_content
from bot.messages import Incoming, Outgoing
from bot.migrate import alembic_config, upgrade
from bot.service import Tandem
from bot.store import Store, make_engine
from tests.fakes import ALICE, FakeMessenger, FixedClock, said

# Any ERROR that Tandem logs fails the test unless the test says it expects one.
pytest_plugins = ["tests.log_rule"]


@contextlib.contextmanager
def database_at(url: str, revision: str) -> Iterator[tuple[Connection, Config]]:
    """A SQLite file at an older migration, as an earlier Tandem left it: the connection to seed
    it through, and the Alembic config to upgrade it further on that same connection."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            yield conn, config
    finally:
        engine.dispose()


PG_ADMIN = os.environ.get("TANDEM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def config_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's config folder, where key files live by default, is the test's own: no test
    reads or writes the developer's ~/.config/tandem (subprocesses inherit it too)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(scope="session")
def library() -> Library:
    return load_content(default_content_dir())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/tandem.db"
        return
    yield from _postgres_database()


def pg_required() -> bool:
    """CI proves the PostgreSQL promises (several instances, sealing in a dump): there a missing
    server fails the run instead of skipping. On a laptop without one, those tests skip."""
    return bool(os.environ.get("CI")) or os.environ.get("TANDEM_REQUIRE_PG") == "1"


def _postgres_database() -> Iterator[str]:
    import asyncio

    import asyncpg

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin("SELECT 1"))
    except Exception as err:
        unreachable = f"PostgreSQL at {PG_ADMIN} is not reachable ({type(err).__name__})"
        if pg_required():
            pytest.fail(
                f"{unreachable}, and this run requires it (CI or TANDEM_REQUIRE_PG=1): start "
                "PostgreSQL, or point TANDEM_TEST_PG at one (trust auth, a database to connect to)",
                pytrace=False,
            )
        pytest.skip(f"{unreachable}; SQLite runs still cover the core")
    name = f"tandem_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/tandem.db"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-11-21T12:00:00+00:00")


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


_MIGRATED: list[Path] = []  # this test process's SQLite file at the newest revision, once made


async def _fresh_sqlite(url: str) -> bool:
    """A new SQLite file at `url` as the migrations leave it, copied from one migrated once per
    test process (running every migration for each test cost a fifth of the suite's time);
    False when `url` is not a new SQLite file, which then migrates itself."""
    path = Path(url.split("///", 1)[1]) if url.startswith("sqlite:///") else None
    if path is None or path.exists():
        return False
    if not _MIGRATED:
        folder = tempfile.mkdtemp(prefix="tandem-migrated-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "tandem.db"
        store = Store(make_engine(f"sqlite:///{template}"))
        await upgrade(store.engine)
        await store.close()
        _MIGRATED.append(template)
    shutil.copyfile(_MIGRATED[0], path)
    return True


async def build(
    url: str, clock: FixedClock, messenger: FakeMessenger, library: Library, **kw: object
) -> Tandem:
    fresh = await _fresh_sqlite(url)
    store = Store(make_engine(url))
    if not fresh:
        await upgrade(store.engine)
    return Tandem(store, clock, library, messenger, **kw)  # type: ignore[arg-type]


async def console_couple(
    url: str, clock: FixedClock, library: Library, folder: Path
) -> tuple[ConsoleAdapter, io.StringIO, Tandem]:
    """The console with Alice and Bob each joined and their private chats linked, Alice back
    in the shared chat as Bob: what it printed so far, and the core (close its store)."""
    out = io.StringIO()
    console = ConsoleAdapter(out=out, export_dir=folder)
    tandem = await build(url, clock, console, library)  # type: ignore[arg-type]
    await console.start(tandem)
    for line in ["/start", "/pair", "1", "/shared", "/as Bob", "/start", "/pair", "1"]:
        await console.feed(line)
    return console, out, tandem


@pytest.fixture
async def tandem(
    database_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> AsyncIterator[Tandem]:
    bot = await build(database_url, clock, messenger, library, grace=timedelta(hours=3))
    yield bot
    await bot.store.close()


@pytest.fixture
async def lite(
    sqlite_url: str, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> AsyncIterator[Tandem]:
    """The core on a SQLite file only, for tests about behaviour rather than the database."""
    bot = await build(sqlite_url, clock, messenger, library)
    yield bot
    await bot.store.close()


async def privacy_text(tandem: Tandem, who: tuple[str, str]) -> str:
    """/privacy in full: its short answer, then "Everything, in detail" tapped."""
    short = await one(tandem, said(who, "/privacy"))
    [more] = short.buttons
    return (await one(tandem, said(who, action=more.action))).text


async def one(tandem: Tandem, incoming: Incoming) -> Outgoing:
    [reply] = await tandem.handle(incoming)
    return reply


def exported(replies: list[Outgoing], kind: str = ".json") -> Outgoing:
    """/export's file among its replies: the clean JSON (".json") or the one to read (".txt")."""
    [found] = [
        r for r in replies if r.attachment is not None and r.attachment.filename.endswith(kind)
    ]
    return found


async def export_of(tandem: Tandem, incoming: Incoming, kind: str = ".json") -> Outgoing:
    """/export asked, and its clean JSON (or the readable file)."""
    return exported(await tandem.handle(incoming), kind)


async def dialog(
    tandem: Tandem, steps: list[tuple[str, str]], who: tuple[str, str] = ALICE
) -> None:
    """Each step: what the member types, and words the (single) reply must contain."""
    for typed, expected in steps:
        replies = await tandem.handle(said(who, typed))
        text_ = "\n".join(r.text for r in replies)
        assert expected in text_, f"after {typed!r} expected {expected!r} in:\n{text_}"
