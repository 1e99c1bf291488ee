"""Plain: a statement compiled once and run with many rows, for the delivery engine's hot writes
(moved out of bot/store.py, which re-exports it)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection


@functools.lru_cache(maxsize=4096)  # a batch writes the same few instants over and over
def _sqlite_instant(value: datetime) -> str:
    # The form SQLAlchemy's SQLite DATETIME stores (UTC, always with microseconds), so stored
    # values compare as strings in the order of the instants.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _driver_form(bind_type: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """How a value of this column type goes to the driver as is, or None when it already does.
    asyncpg takes datetimes and dates; SQLite stores them as text."""
    if dialect.name != "sqlite":
        return None
    affinity = getattr(bind_type, "_type_affinity", None)
    if affinity is not None and issubclass(affinity, DateTime):
        return _sqlite_instant
    if affinity is not None and issubclass(affinity, Date):
        return date.isoformat
    return None


class Plain:
    """A statement compiled once for a dialect and run with many rows, each turned into the
    driver's tuple directly: SQLAlchemy's per-row parameter processing was most of the delivery
    engine's time at a million spaces. For hot, simple writes only; every bind must be in each
    row (write a constant as `null()` or a literal, not as a bound value)."""

    def __init__(
        self, statement: Any, dialect: Dialect, columns: Iterable[str] | None = None
    ) -> None:
        # `columns`: an INSERT's columns, each bound under its own name.
        keys = list(columns) if columns is not None else None
        compiled = statement.compile(dialect=dialect, column_keys=keys, for_executemany=True)
        self.sql: str = compiled.string
        names = tuple(compiled.positiontup or ())
        self.names = names
        # An INSERT's columns left out of `columns` take their model default (a scalar one).
        self._defaults: dict[str, Any] = {}
        if keys is not None:
            needed = [
                c.name
                for c in statement.table.c
                if not (c.nullable or c.primary_key or c.default or c.server_default)
            ]
            if missing := [name for name in needed if name not in keys]:
                raise ValueError(f"{', '.join(missing)} must be in `columns`: no default")
        for name in names:
            if keys is not None and name not in keys:
                default = statement.table.c[name].default
                if default is None or not default.is_scalar:
                    raise ValueError(f"{name} has no scalar default: pass it in `columns`")
                self._defaults[name] = default.arg
        self._get = operator.itemgetter(*names)
        self._forms = [
            (index, form)
            for index, name in enumerate(names)
            if (form := _driver_form(compiled.binds[name].type, dialect)) is not None
        ]

    def row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        got = self._get({**self._defaults, **values} if self._defaults else values)
        found = list(got) if len(self.names) > 1 else [got]
        for index, form in self._forms:
            if found[index] is not None:
                found[index] = form(found[index])
        return tuple(found)

    async def run(self, conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
        """Executes the statement once per row (one executemany)."""
        batch = [self.row(values) for values in rows]
        if batch:
            await conn.exec_driver_sql(self.sql, batch)
