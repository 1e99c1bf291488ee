"""One process per SQLite file: a lock file beside the database, held while Tandem runs."""

from __future__ import annotations

from filelock import FileLock, Timeout

from bot.store import sqlite_path


class AlreadyRunning(Exception):
    """Another Tandem process holds this SQLite file; the message says what to do."""


def hold_sqlite(database_url: str) -> FileLock | None:
    """Takes `<db>.lock` for this process, or raises AlreadyRunning. The operating system frees
    the lock when the process ends, even by kill -9, so a crash never leaves it stale."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock", is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AlreadyRunning(
            f"another Tandem is already running on {path} (it holds {path}.lock). "
            "SQLite serves one process: stop the other one first, or run several on PostgreSQL "
            "(DATABASE_URL=postgresql://user@host/tandem)."
        ) from None
    return lock
