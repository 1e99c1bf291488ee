"""What an operator runs by hand between starts: `tandem migrate`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.datakey import Watch, open_store
from bot.migrate import current
from bot.progress import advance_to, progress
from bot.settings import Settings
from bot.single import hold_sqlite
from bot.store import make_engine


@dataclass(frozen=True)
class Migrated:
    before: str | None  # None: the database was new
    after: str | None


async def migrate(settings: Settings) -> Migrated:
    """Brings the database up to date through the very start `tandem run` makes (the key proved,
    the migration, then what a migration leaves to the key sealed), and stops. On SQLite it
    holds the run lock, so it refuses while an instance runs; on PostgreSQL it waits its turn
    under the advisory lock instances start under, so starts and migrations never race."""
    lock = hold_sqlite(settings.database_url)
    try:
        engine = make_engine(settings.database_url)
        try:
            before = await current(engine)
        except BaseException:
            await engine.dispose()
            raise
        with progress("migrating", None, unit="revisions") as steps:
            with progress("sealing", None, open_ended=True) as sealed:
                watch = Watch(
                    revisions=lambda done, total: advance_to(steps, done, total),
                    sealed=lambda done: advance_to(sealed, done),
                )
                store = await open_store(engine, settings, watch)
        try:
            return Migrated(before, await current(engine))
        finally:
            await store.close()
    finally:
        if lock is not None:
            lock.release()
