"""/export's two files: one to read (answers by day, notes, promises, today's question, in the
chat's local time) and a clean JSON for another app. Both are built from the same rows, each
cut to an allow-list of fields, so a column added for the bot's own work never leaks into them.

What goes in is /privacy's promise: the asker's own things (their private ones only where
private things may go), what was revealed to both, and the partner's shared promises.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.checkins.answers import complete_days, score_of, skipped
from bot.checkins.answers import shown as is_shown
from bot.checkins.hurt import hurt_of
from bot.content import Library
from bot.messages import Attachment
from bot.promises import keeping as promises
from bot.questions.words import export_rows as question_rows
from bot.repair.state import export_rows as repair_rows
from bot.schedule import FAR_FUTURE, local_date
from bot.store import CheckinAnswer, Member, Schedule, Space
from bot.timeparse import days_from_cron, format_days, zone_from_name
from bot.yourdata.given import given

# The fields each part of the export may hold: nothing else is ever written, whatever the
# tables grow (claims, leases, ids, chat ids and the like are the bot's, not the couple's).
FIELDS: dict[str, tuple[str, ...]] = {
    "space": ("platform", "timezone", "topics", "reveal", "apart", "created_at"),
    "members": ("name", "you", "joined_at", "side"),
    "schedules": ("kind", "local_time", "days", "paused_until", "next_at"),
    "checkins": ("date", "by", "score", "skipped", "hurt", "note", "answered_at"),
    "prompts": ("shown_at", "prompt", "inside", "just_for_you"),
    "question_answers": ("date", "by", "question", "text", "passed", "answered_at"),
    "repair_talks": ("started_at", "talk", "state", "felt", "needed", "own_part", "differently"),
    "promises": ("by", "text", "shared", "made_at", "due_date", "status", "closed_at"),
}
REPAIR_STEPS = {
    "felt": "What I felt",
    "needed": "What I needed",
    "own_part": "My own part",
    "differently": "What I'll do differently",
}
KINDS = {"prompt": "Daily prompt", "checkin": "Check-in", "weekly": "Weekly look back"}
# How a prompt given reads, by (the message it came inside, whether it was theirs alone).
INSIDE = {
    (None, False): "",
    ("check-in", False): ", in the check-in",
    (None, True): ", just for you",
    ("check-in", True): ", in your check-in, just for you",
    ("step", True): ", with the day's step, just for you",
    ("step", False): ", with the day's step",
}
STATUS = {
    "open": "open",
    "done": "kept",
    "partly": "partly kept",
    "let_go": "let go",
    "closed": "closed",
}


def _only(part: str, row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIELDS[part] if k in row and row[k] is not None}


async def gather(
    session: AsyncSession,
    space: Space,
    member: Member | None,
    with_private: bool,
    library: Library,
    now: datetime,
) -> dict[str, Any]:
    """What this person may see of the space at `now`, each part cut to FIELDS.

    Never the other partner's private notes, unrevealed scores, side or private promises."""
    revealed = set(await complete_days(session, space))
    members = [
        m
        for m in (await session.exec(select(Member).where(Member.space_id == space.id))).all()
        if m.partner or (member is not None and m.id == member.id)
    ]
    names = {m.id: m.display_name for m in members}
    you = member.id if member is not None else None
    checkins = []
    for answer in (
        await session.exec(
            select(CheckinAnswer)
            .where(CheckinAnswer.space_id == space.id)
            .order_by(col(CheckinAnswer.local_date), col(CheckinAnswer.member_id))
        )
    ).all():
        mine = answer.member_id == you
        shown = is_shown(space, answer, revealed)
        # Someone who left keeps their answers out of the space's export: whoever takes the
        # free seat later sees nothing of them (they can still /forget me).
        if not mine and (not shown or answer.member_id not in names):
            continue
        row: dict[str, Any] = {
            "date": answer.local_date,
            "by": names.get(answer.member_id),
            "score": score_of(answer),
            "skipped": skipped(answer),
            "answered_at": answer.answered_at,
        }
        # The hurt partner's private answer is theirs alone: never in the other's export.
        if mine and with_private and hurt_of(answer) is not None:
            row["hurt"] = hurt_of(answer)
        if answer.note and ((mine and with_private) or (answer.share_note and shown)):
            row["note"] = answer.note
        checkins.append(_only("checkins", row))
    schedules = (
        await session.exec(
            select(Schedule).where(Schedule.space_id == space.id).order_by(col(Schedule.id))
        )
    ).all()
    # The prompts as their chats were sent them (a path's steps, never one left unsent).
    prompts = [_only("prompts", g) for g in await given(session, space, you, library)]
    # Today's question: the asker's own answers, the other's only as revealed to them.
    questions = [
        _only("question_answers", {**r, "date": r["local_date"], "by": names.get(r["member_id"])})
        for r in await question_rows(session, space, member, with_private)
    ]
    # /repair talks: the asker's own parts, their words where private things may go.
    talks = [
        _only("repair_talks", r) for r in await repair_rows(session, space, member, with_private)
    ]
    # A promise just for its author goes only where their private notes may go.
    promised = [
        _only("promises", {**r, "status": str(r["status"])})
        for r in await promises.export_rows(session, space, member)
        if with_private or r["shared"]
    ]
    return {
        "space": _only("space", space.model_dump()),
        "members": [
            _only(
                "members",
                {
                    "name": m.display_name,
                    "you": m.id == you,
                    "joined_at": m.joined_at,
                    "side": m.side if m.id == you else None,
                },
            )
            for m in members
        ],
        "schedules": [
            _only(
                "schedules",
                {
                    "kind": s.kind,
                    "local_time": s.local_time,
                    "days": s.weekdays,
                    # A pause that has ended says nothing (the row keeps it until a change).
                    "paused_until": s.paused_until
                    if s.paused_until is not None and s.paused_until > now
                    else None,
                    "next_at": s.next_due_at,
                },
            )
            for s in schedules
        ],
        "checkins": checkins,
        "prompts": prompts,
        "question_answers": questions,
        "repair_talks": talks,
        "promises": promised,
    }


def as_json(data: dict[str, Any], now: datetime) -> bytes:
    return json.dumps(
        {**data, "exported_at": now.isoformat()}, indent=2, ensure_ascii=False, default=str
    ).encode()


def _day(value: Any) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return day.strftime("%a %d %b %Y").replace(" 0", " ")


def _when(value: Any, zone: str) -> str:
    if not isinstance(value, datetime):
        return str(value)
    local = value.astimezone(zone_from_name(zone))
    return f"{_day(local.date())} at {local.strftime('%H:%M')}"


def _quote(words: str) -> str:
    return "“" + " ".join(words.split()) + "”"


def _paused(until: Any, zone: str) -> str:
    if until is None:
        return ""
    if isinstance(until, datetime) and until >= FAR_FUTURE:
        return ", paused until you /resume"
    return f", paused until {_when(until, zone)}"


def _given(h: dict[str, Any], zone: str) -> str:
    """A prompt given, on one line: when, in which message, and whether it was theirs alone."""
    where = INSIDE[h.get("inside"), bool(h.get("just_for_you"))]
    return f"  {_when(h['shown_at'], zone)}{where}: {h['prompt']}"


def as_text(data: dict[str, Any], zone: str, now: datetime) -> bytes:
    """The same export, to read: by day, in the chat's local time."""
    lines = [
        "Tandem: what you may see of your space",
        f"Exported {_when(now, zone)}; times are {zone} time.",
        "",
    ]
    people = [m["name"] + (" (you)" if m.get("you") else "") for m in data["members"]]
    if people:
        lines.append("Who: " + ", ".join(people))
    for s in data["schedules"]:
        paused = _paused(s.get("paused_until"), zone)
        kind = KINDS.get(s["kind"], s["kind"])
        days = format_days(days_from_cron(s["days"]))
        lines.append(f"{kind}: {s['local_time']} {days}{paused}")
    lines.append(f"Reveal: {data['space'].get('reveal', 'together')}")
    by_day: dict[str, list[str]] = defaultdict(list)
    for c in data["checkins"]:
        how = "skipped" if c.get("skipped") else f"{c['score']}/5" if "score" in c else "answered"
        note = f" · note: {_quote(c['note'])}" if "note" in c else ""
        hurt = f" · the hurt, just for you: {c['hurt']}/5" if "hurt" in c else ""
        by_day[str(c["date"])].append(f"  {c.get('by', '?')}: {how}{hurt}{note}")
    for q in data["question_answers"]:
        words = "passed" if q.get("passed") else _quote(q["text"]) if "text" in q else "answered"
        question = f" ({q['question']})" if "question" in q else ""
        by_day[str(q["date"])].append(f"  {q.get('by', '?')}, today's question{question}: {words}")
    lines += ["", "Check-ins and today's question, by day"]
    if not by_day:
        lines.append("  (nothing yet)")
    for day in sorted(by_day):
        lines.append(_day(day))
        lines += by_day[day]
    lines += ["", "Promises"]
    if not data["promises"]:
        lines.append("  (none)")
    for p in data["promises"]:
        shared = "shared" if p.get("shared") else "just for you"
        closed = f" on {_when(p['closed_at'], zone)}" if "closed_at" in p else ""
        lines.append(
            f"  {p.get('by', '?')}: {_quote(p.get('text', ''))}, by {_day(p['due_date'])} · "
            f"{shared} · {STATUS.get(p.get('status', 'open'), 'open')}{closed}"
        )
    if data["repair_talks"]:
        lines += ["", "Your part of talks after a hard moment (/repair)"]
        for t in data["repair_talks"]:
            lines.append(f"  {_when(t['started_at'], zone)} ({t.get('talk', '')})")
            for step, label in REPAIR_STEPS.items():
                if step in t:
                    lines.append(f"    {label}: {_quote(t[step])}")
    if data["prompts"]:
        lines += ["", "Prompts you were given"]
        lines += [_given(h, zone) for h in data["prompts"] if "prompt" in h]
    return ("\n".join(lines) + "\n").encode()


def files(data: dict[str, Any], zone: str, now: datetime) -> tuple[Attachment, Attachment]:
    """The readable file and the clean JSON."""
    stamp = local_date(now, zone).isoformat()
    return (
        Attachment(f"tandem-{stamp}.txt", as_text(data, zone, now), mime="text/plain"),
        Attachment(f"tandem-export-{stamp}.json", as_json(data, now)),
    )
