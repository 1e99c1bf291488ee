"""Brings the database schema to the newest Alembic revision, at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.shipped import shipped
from bot.store import analyze, has_statistics


def alembic_config() -> Config:
    config = Config(str(shipped("alembic.ini")))
    config.set_main_option("script_location", str(shipped("migrations")))
    return config


async def upgrade(
    engine: AsyncEngine, on_step: Callable[[int, int], None] | None = None
) -> str | None:
    """Migrates to the newest revision; returns the revision the database was at before (None
    for a new one), so that the start can finish what a migration leaves to the key.
    `on_step(done, total)` hears of each revision applied (`tandem migrate`'s progress)."""
    started: list[str | None] = []

    def run(connection: Connection) -> bool:
        """Migrates to the newest revision; True if there was anything to do."""
        config = alembic_config()
        config.attributes["connection"] = connection
        before = MigrationContext.configure(connection).get_current_revision()
        started.append(before)
        if on_step is not None:
            script = ScriptDirectory.from_config(config)
            total = len(list(script.iterate_revisions("head", before)))
            done = [0]
            on_step(0, total)

            def applied(**_: Any) -> None:
                done[0] += 1
                on_step(done[0], total)

            config.attributes["on_version_apply"] = (applied,)
        command.upgrade(config, "head")
        return MigrationContext.configure(connection).get_current_revision() != before

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(run)
        return started[0]
    # SQLite changes a table by rebuilding it. With foreign keys enforced, dropping the old table
    # would fire its ON DELETE actions (every answer's delivery_id set to NULL, say), so they are
    # off while migrating (the pragma only takes effect outside a transaction), the result is
    # checked, and they are on again before the connection goes back to the pool. The check and
    # the planner's statistics read every table (most of a second at a million spaces), so they
    # run after a migration only; the daily housekeeping keeps the statistics fresh otherwise.
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await connection.commit()
            async with connection.begin():
                migrated = await connection.run_sync(run)
                if migrated:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(
                            f"migration left {len(broken)} row(s) with a broken reference"
                        )
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()
        if migrated or not await has_statistics(connection):
            await analyze(connection)
    return started[0]


def head() -> str:
    """The newest revision this Tandem ships."""
    newest = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert newest is not None
    return newest


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for one that was never migrated)."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
