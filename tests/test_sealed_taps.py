"""Everything a partner says is sealed, taps included: a score, "Skip today" and how a promise
went are theirs; only what the scheduler and the count of days both showed up need (that they
took part, that a promise is closed) stays plain."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from bot.content import Library
from tests.conftest import database_at
from tests.conftest import export_of as export_file
from tests.fakes import ALICE, BOB, said
from tests.test_checkins import ask, tap
from tests.test_crypto import old_couple, settings, sqlite, start, stored


async def export_of(tandem: object, who: tuple[str, str]) -> dict[str, object]:
    reply = await export_file(tandem, said(who, "/export", whisper=True))  # type: ignore[arg-type]
    assert reply.attachment is not None
    return json.loads(reply.attachment.data)  # type: ignore[no-any-return]


async def test_a_score_a_skip_and_a_promises_outcome_are_sealed_at_rest(
    tmp_path: Path, library: Library
) -> None:
    db = tmp_path / "data" / "tandem.db"
    tandem, messenger = await start(settings(sqlite(tmp_path)), library)
    checkin = await ask(tandem, messenger)
    await tandem.handle(said(ALICE, action=tap(checkin, 2)))
    skip = next(b for b in checkin.buttons if b.label.startswith("Skip"))
    await tandem.handle(said(BOB, action=skip.action))
    await tandem.handle(said(ALICE, "/promise call my sister by fri"))
    listing = await tandem.handle(said(ALICE, "/promises"))
    let_go = next(b for b in listing[1].buttons if b.label == "Let it go")
    await tandem.handle(said(ALICE, action=let_go.action))

    taps = stored(db, "SELECT tap, took_part FROM checkinanswer ORDER BY member_id")
    assert [str(t).startswith("tk2:") for t, _ in taps] == [True, True]
    assert [bool(p) for _, p in taps] == [True, True]  # plain: the reveal and the count need it
    [(outcome, status)] = stored(db, "SELECT outcome, status FROM promise")
    assert str(outcome).startswith("tk2:") and status == "closed"
    assert "let_go" not in str(stored(db, "SELECT * FROM promise"))

    mine = await export_of(tandem, ALICE)  # its owner reads them back
    days = {(c["by"], c.get("score"), c["skipped"]) for c in mine["checkins"]}  # type: ignore[attr-defined,index]
    assert days == {("Alice", 2, False), ("Bob", None, True)}
    assert [p["status"] for p in mine["promises"]] == ["let_go"]  # type: ignore[attr-defined,index]
    await tandem.store.close()


async def test_scores_and_outcomes_stored_plain_before_are_sealed_at_the_first_start_after(
    tmp_path: Path, library: Library
) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "tandem.db"
    with database_at(f"sqlite:///{db}", "0013") as (conn, _):  # as a Tandem before 0014 left it
        old_couple(conn, bob=True)
        conn.execute(
            text(
                "INSERT INTO checkinanswer (space_id, member_id, local_date, score, skipped,"
                " share_note, reveal, answered_at, updated_at) VALUES"
                " (1, 1, '2026-11-20', 4, 0, 0, 'together', '2026-11-20', '2026-11-20'),"
                " (1, 2, '2026-11-20', NULL, 1, 0, 'together', '2026-11-20', '2026-11-20'),"
                " (1, 1, '2026-11-19', NULL, 0, 0, 'together', '2026-11-19', '2026-11-19')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO promise (space_id, member_id, body, shared, made_at, due_date, status,"
                " asks, closed_at) VALUES (1, 1, 'tk0', 1, '2026-11-10', '2026-11-12', 'done', 1,"
                " '2026-11-12'), (1, 1, 'still going', 1, '2026-11-18', '2026-11-27', 'open', 0,"
                " NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO once (space_id, key, at) VALUES (1, 'reveal:2026-11-20', '2026-11-20')"
            )
        )

    tandem, _ = await start(settings(sqlite(tmp_path)), library)

    taps = stored(db, "SELECT local_date, member_id, tap, took_part FROM checkinanswer ORDER BY id")
    assert [(str(t).startswith("tk2:") if t else None, bool(p)) for _, _, t, p in taps] == [
        (True, True),  # 4
        (True, True),  # skipped: took part
        (None, False),  # only a note, no tap: did not take part
    ]
    assert stored(db, "SELECT status FROM promise ORDER BY id") == [("closed",), ("open",)]
    mine = await export_of(tandem, ALICE)
    scores = {(c["date"], c["by"]): (c.get("score"), c["skipped"]) for c in mine["checkins"]}  # type: ignore[attr-defined,index]
    assert scores[("2026-11-20", "Alice")] == (4, False)
    assert scores[("2026-11-20", "Bob")] == (None, True)
    assert [p["status"] for p in mine["promises"]] == ["done", "open"]  # type: ignore[attr-defined,index]
    await tandem.store.close()
