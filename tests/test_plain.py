"""`Plain`, the delivery engine's hot writes without SQLAlchemy's per-row processing: what it
writes must read back exactly as what SQLAlchemy writes, or due times would compare wrongly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text
from sqlmodel import select as sm_select

from bot.migrate import upgrade
from bot.store import ContentHistory, Delivery, Plain, Space, Store, make_engine, upsert_insert

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(make_engine(database_url))
    await upgrade(store.engine)
    async with store.unit() as session:
        session.add(
            Space(
                platform="console",
                chat_id="home",
                timezone="Europe/Berlin",
                topics="gratitude",
                active=True,
                content_cycle=0,
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    yield store
    await store.close()


async def test_instants_read_back_the_same_and_in_order(store: Store) -> None:
    """Aware datetimes in any zone, and one with no microseconds (isoformat would drop them)."""
    shown = [
        datetime(2026, 11, 21, 21, 0, tzinfo=BERLIN),  # 20:00 UTC, .000000
        datetime(2026, 11, 21, 20, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 21, 15, 30, tzinfo=timezone(timedelta(hours=-5))),
    ]
    history = Plain(
        insert(ContentHistory),
        store.engine.dialect,
        ("space_id", "member_id", "prompt_id", "cycle", "shown_at"),
    )
    async with store.unit() as session:
        conn = await session.connection()
        await history.run(
            conn,
            [
                {"space_id": 1, "member_id": 0, "prompt_id": f"p-{i}", "cycle": 0, "shown_at": at}
                for i, at in enumerate(shown)
            ],
        )
        # The same instant written the usual way, for the stored form to be compared.
        await conn.execute(
            insert(ContentHistory).values(
                space_id=1, member_id=0, prompt_id="orm", cycle=0, shown_at=shown[0]
            )
        )
    h = ContentHistory.__table__.c  # type: ignore[attr-defined]
    async with store.read() as session:
        conn = await session.connection()
        rows = (await conn.execute(select(h.prompt_id, h.shown_at).order_by(h.shown_at))).all()
        later = (await conn.execute(select(h.prompt_id).where(h.shown_at > shown[0]))).scalars()
        if store.is_sqlite:
            stored = dict(
                (await conn.execute(text("SELECT prompt_id, shown_at FROM contenthistory"))).all()
            )
            assert stored["p-0"] == stored["orm"] == "2026-11-21 20:00:00.000000"
    assert [at for _, at in rows] == sorted([*shown, shown[0]])
    assert {name: at for name, at in rows}["p-2"] == datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
    assert set(later) == {"p-1", "p-2"}


async def test_left_out_insert_columns_take_the_model_default(store: Store) -> None:
    claims = Plain(
        upsert_insert(store.engine.dialect.name)(Delivery.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
        store.engine.dialect,
        ("id", "space_id", "kind", "local_date", "due_at", "status"),
    )
    due = datetime(2026, 11, 21, 20, tzinfo=UTC)
    row = {
        "id": 7,
        "space_id": 1,
        "kind": "prompt",
        "local_date": date(2026, 11, 21),
        "due_at": due,
        "status": "claimed",
    }
    async with store.unit() as session:
        conn = await session.connection()
        await claims.run(conn, [row, {**row, "kind": "checkin"}])  # the same id: skipped
    async with store.read() as session:
        found = (await session.exec(sm_select(Delivery))).all()
    assert [
        (d.id, d.recipient, d.attempts, d.parts_sent, d.local_date, d.due_at) for d in found
    ] == [(7, 0, 0, 0, date(2026, 11, 21), due)]


def test_a_column_with_no_default_must_be_given(store: Store) -> None:
    with pytest.raises(ValueError, match="status"):
        Plain(insert(Delivery), store.engine.dialect, ("id", "space_id", "kind"))
