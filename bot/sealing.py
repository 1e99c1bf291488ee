"""Each member's own data key, and the ORM events that seal what they say with it in its place.

A member's words (notes, promises, the side they chose) are sealed with a data key of their own,
kept in `sealkey` wrapped by the master key. Forgetting a member deletes that row (it cascades
with the member), and `Store.scrub` drops its old copies from the database files: every copy of
their words left anywhere (old row versions, the write-ahead log, a replica) then opens nothing.
Each value is bound to its place (table, column, row, space, member), so one pasted into another
row is refused (bot/crypto.py `Place`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, object_session
from sqlmodel.sql.sqltypes import UTCDateTime

from bot.crypto import (
    Keyring,
    Place,
    Placed,
    Sealed,
    _unwrapped,
    keyring_of,
    new_member_key,
    wrap,
)


def member_key(conn: Connection, keyring: Keyring, space_id: int, member_id: int) -> AESGCM:
    """The member's data key, made (and wrapped) the first time they say something to seal."""
    find = text("SELECT wrapped FROM sealkey WHERE member_id = :m")
    row = conn.execute(find, {"m": member_id}).first()
    if row is None:
        wrapped = wrap(keyring, new_member_key(), member_id)
        conn.execute(
            text(
                "INSERT INTO sealkey (member_id, space_id, wrapped, created_at) "
                "VALUES (:m, :s, :w, :at) ON CONFLICT (member_id) DO NOTHING"
            ).bindparams(bindparam("at", type_=UTCDateTime())),
            {"m": member_id, "s": space_id, "w": wrapped, "at": datetime.now(UTC)},
        )
        row = conn.execute(find, {"m": member_id}).one()  # ours, or one made just before
    return _unwrapped(keyring, str(row[0]), member_id)


def placed(
    conn: Connection, sealed: Sealed, row: int, space: int, member: int, plain: str
) -> Placed:
    """`plain` ready to be written into `sealed`'s column of that row (for Core writes)."""
    key = member_key(conn, keyring_of(conn.dialect), space, member)
    return Placed(plain, Place(sealed.table_name, sealed.column_name, row, space, member), key)


def _sealed_columns(mapper: Mapper[Any]) -> list[tuple[str, Sealed]]:
    return [
        (prop.key, c.type)
        for prop in mapper.column_attrs
        for c in prop.columns
        if isinstance(c.type, Sealed)
    ]


def _new_id(conn: Connection, target: Any, table: str) -> int:
    """The row's id before its INSERT, since the value is bound to it: PostgreSQL's sequence;
    SQLite's next rowid (one writer, under the store's write lock; rows of one flush counted)."""
    if conn.dialect.name == "postgresql":
        found = conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"))
        return int(found.scalar_one())
    session = object_session(target)
    given: dict[str, int] = session.info.setdefault("sealing_ids", {}) if session else {}
    top = int(conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one())
    new = max(top, given.get(table, 0)) + 1
    given[table] = new
    return new


def _seal_on_write(mapper: Mapper[Any], conn: Connection, target: Any, inserting: bool) -> None:
    columns = _sealed_columns(mapper)
    state = inspect(target)
    due = [
        (key, sealed)
        for key, sealed in columns
        if isinstance(getattr(target, key), str)
        and not isinstance(getattr(target, key), Placed)
        and (inserting or state.attrs[key].history.has_changes())
    ]
    if not due:
        return
    table = mapper.local_table.name  # type: ignore[attr-defined]
    if target.id is None:
        target.id = _new_id(conn, target, table)
    for key, sealed in due:
        member = getattr(target, sealed.member_column)
        setattr(
            target,
            key,
            placed(conn, sealed, target.id, target.space_id, member, getattr(target, key)),
        )


def install(models: Iterable[type[Any]]) -> None:
    """Seals the Sealed columns of these mapped classes on every ORM insert and update."""
    for model in models:

        @event.listens_for(model, "before_insert")
        def _insert(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
            _seal_on_write(mapper, conn, target, inserting=True)

        @event.listens_for(model, "before_update")
        def _update(mapper: Mapper[Any], conn: Connection, target: Any) -> None:
            _seal_on_write(mapper, conn, target, inserting=False)
