"""The prompts a partner was given, for /export: what their chats were sent, as it read.

The delivery rows say what went out: a prompt whose send failed, was missed or was skipped
(a side's own prompt on a path, where the side's step comes instead) was never given. On a
path the row records the step its message showed in place of the rotation's prompt
(`Delivery.step`), and a sided partner's own step in their check-in; a row `carried` inside
the day's one message to its chat was given when that message was sent, and is listed as part
of it. A prompt asked for with /tip has no delivery row: it was given at once, as a reply.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Library
from bot.paths.compose import QUIET_STEP
from bot.paths.progress import paths
from bot.schedule import as_utc
from bot.store import ContentHistory, Delivery, Space

# What a rest day's message said in the step's place: no step, and nothing of why.
QUIET_DAY = "A quiet day on your path: no step for the two of you."
# A claim writes the prompts it picks (content history) within its grace window of the rows'
# due time: a pick with no row of its prompt that close was a /tip.
CLAIM_WINDOW = timedelta(days=1)
INSIDE = {"checkin": "check-in", "prompt": "step"}


@dataclass(frozen=True)
class Given:
    shown_at: datetime
    prompt: str
    inside: str | None = None  # "check-in" | "step": it came inside that message
    just_for_you: bool = False  # a side's own prompt or step, in the asker's private chat

    def row(self) -> dict[str, Any]:
        return {
            "shown_at": self.shown_at,
            "prompt": self.prompt,
            "inside": self.inside,
            "just_for_you": self.just_for_you or None,
        }


@functools.cache
def _steps() -> dict[str, str]:
    """Every path step's words, by its id."""
    return {step.id: step.text for path in paths().paths.values() for step in path.step}


def _words(row: Delivery, library: Library) -> str | None:
    """What a prompt or side row showed: its path step, else its content's prompt."""
    if row.step == QUIET_STEP:
        return QUIET_DAY
    if row.step is not None:
        return _steps().get(row.step)
    prompt = library.by_id.get(row.content_id or "")
    return prompt.text if prompt is not None else None


async def given(
    session: AsyncSession, space: Space, you: int | None, library: Library
) -> list[dict[str, Any]]:
    """The prompts `you` were given in this space, oldest first: those sent to the shared chat
    and to their own private chat (never the other partner's), and their /tip prompts."""
    rows = (
        await session.exec(
            select(Delivery)
            .where(
                Delivery.space_id == space.id,
                col(Delivery.kind).in_(("prompt", "side", "checkin")),
            )
            .order_by(col(Delivery.id))
        )
    ).all()
    theirs = {0, you or 0}
    mine = [r for r in rows if r.recipient in theirs]
    # The messages a carried row may have come in, by (kind, day, chat): the first sent.
    carriers: dict[tuple[str, date, int], tuple[datetime, str]] = {}
    for r in mine:
        if r.status == "sent" and r.sent_at is not None and r.kind in INSIDE:
            key, sent = (r.kind, r.local_date, r.recipient), (as_utc(r.sent_at), r.kind)
            carriers[key] = min(carriers.get(key, sent), sent)
    out: list[Given] = []
    for r in mine:
        side = r.kind == "side"
        if side and r.recipient != you:
            continue
        if r.kind == "checkin":
            # A sided partner's own step, in their check-in.
            if r.status == "sent" and r.step is not None and r.recipient == you:
                words = _steps().get(r.step)
                if words is not None and r.sent_at is not None:
                    out.append(Given(as_utc(r.sent_at), words, "check-in", True))
            continue
        words = _words(r, library)
        if words is None:
            continue
        if r.status == "sent" and r.sent_at is not None:
            out.append(Given(as_utc(r.sent_at), words, None, side))
        elif r.status == "carried":
            # A step rides in the check-in; a side's own prompt in the check-in, or with no
            # check-in set, in the step to their private chat.
            kinds = ("checkin", "prompt") if side else ("checkin",)
            found = [carriers.get((k, r.local_date, r.recipient)) for k in kinds]
            carrier = next((c for c in found if c is not None), None)
            if carrier is not None:
                out.append(Given(carrier[0], words, INSIDE[carrier[1]], side))
    out += await _tips(session, space, you, library, rows)
    return [g.row() for g in sorted(out, key=lambda g: g.shown_at)]


async def _tips(
    session: AsyncSession,
    space: Space,
    you: int | None,
    library: Library,
    rows: Sequence[Delivery],
) -> list[Given]:
    """The prompts given at once with /tip: the shared rotation's and the asker's side's picks
    that no scheduled delivery holds."""
    picked: dict[tuple[str, str], list[datetime]] = {}
    for r in rows:
        if r.kind in ("prompt", "side") and r.content_id is not None:
            picked.setdefault((r.kind, r.content_id), []).append(as_utc(r.due_at))
    history = (
        await session.exec(
            select(ContentHistory).where(
                ContentHistory.space_id == space.id,
                col(ContentHistory.member_id).in_([0, you or 0]),
            )
        )
    ).all()
    out: list[Given] = []
    for h in history:
        prompt = library.by_id.get(h.prompt_id)
        if prompt is None:
            continue
        at = as_utc(h.shown_at)
        kind = "side" if h.member_id else "prompt"
        if any(
            timedelta(0) <= at - due <= CLAIM_WINDOW for due in picked.get((kind, h.prompt_id), [])
        ):
            continue  # a scheduled pick: its delivery rows say whether it was given
        out.append(Given(at, prompt.text, None, bool(h.member_id)))
    return out
