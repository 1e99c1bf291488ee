"""`tandem migrate`: brings a database up to date and exits, never racing a running instance."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.datakey import STARTING_LOCK
from bot.migrate import current, head
from bot.single import hold_sqlite
from bot.store import make_engine
from tests.conftest import _postgres_database, database_at


def tandem(args: list[str], cwd: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def revision(url: str) -> str | None:
    async def read() -> str | None:
        engine = make_engine(url)
        try:
            return await current(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_migrate_brings_an_older_database_up_to_date_then_says_there_is_nothing_to_do(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    with database_at(url, "0011"):
        pass
    code, out, err = finished(tandem(["migrate"], tmp_path, url))
    assert code == 0, err
    assert f"Migrated the database from revision 0011 to {head()}." in out
    assert revision(url) == head()
    code, out, _ = finished(tandem(["migrate"], tmp_path, url))
    assert code == 0 and "up to date" in out


def test_migrate_refuses_while_an_instance_runs_on_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    held = hold_sqlite(url)  # what a running `tandem run` holds
    assert held is not None
    try:
        code, _, err = finished(tandem(["migrate"], tmp_path, url))
    finally:
        held.release()
    assert code == 2
    assert "another Tandem is already running" in err and "Traceback" not in err
    assert revision(url) is None  # nothing was migrated under the running instance


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.postgres
def test_migrate_on_postgresql_waits_for_an_instance_that_is_starting(
    pg_url: str, tmp_path: Path
) -> None:

    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(asyncpg.connect(pg_url))
        loop.run_until_complete(conn.execute(f"SELECT pg_advisory_lock({STARTING_LOCK})"))
        proc = tandem(["migrate"], tmp_path, pg_url)
        time.sleep(2.0)
        waiting = proc.poll() is None
        untouched = revision(pg_url)
        loop.run_until_complete(conn.close())  # the instance's start is over
    finally:
        loop.close()
    assert waiting and untouched is None
    code, out, err = finished(proc)
    assert code == 0, err
    assert f"Made a new database at revision {head()}." in out
    assert revision(pg_url) == head()
