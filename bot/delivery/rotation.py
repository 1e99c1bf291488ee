"""Which prompt a space's shared rotation, or a sided partner's own round, shows next: pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.content import Library, Pick, fitting, pick_prompt
from bot.delivery.jobs import Partner
from bot.timeparse import zone_from_name


def pick_shared(
    library: Library,
    r: Any,
    spaces: dict[int, dict[str, Any]],
    seen: dict[int, set[str]],
    history: list[dict[str, Any]],
    now: datetime,
    send_at: datetime,
) -> str:
    """The shared prompt for schedule row `r`'s space; its rotation (`spaces`, `seen`) moves on
    and the pick is added to `history`."""
    state = spaces[r.space_id]
    state["picked"] = True
    seen_here = seen.setdefault(r.space_id, set())
    if state["cycle"] == 0 and (path := [p for p in library.first_week if p not in seen_here]):
        # A new space walks the gentle first week before the shuffle begins.
        prompt = library.by_id[path[0]]
        pick = Pick(prompt, new_cycle=False)
    else:
        pick = pick_prompt(
            library,
            r.topics.split(","),
            state["last_topic"],
            seen_here,
            r.space_id,
            fits=fitting(send_at.astimezone(zone_from_name(r.timezone)).hour, r.apart),
        )
    if pick.new_cycle:
        state["cycle"] += 1
        seen[r.space_id] = set()
    state["last_topic"] = pick.prompt.topic
    seen[r.space_id].add(pick.prompt.id)
    history.append(
        {
            "space_id": r.space_id,
            "member_id": 0,
            "prompt_id": pick.prompt.id,
            "cycle": state["cycle"],
            "shown_at": now,
        }
    )
    return pick.prompt.id


def pick_side(
    library: Library,
    member: Partner,
    state: dict[str, Any],
    r: Any,
    history: list[dict[str, Any]],
    now: datetime,
    send_at: datetime,
) -> str | None:
    """The next prompt of `member`'s side (None: the library has none for it); their round
    (`state`) moves on and the pick is added to `history`."""
    try:
        pick = pick_prompt(
            library,
            r.topics.split(","),
            state["last_topic"],
            state["seen"],
            member.id,
            audience=member.side or "both",
            fits=fitting(send_at.astimezone(zone_from_name(r.timezone)).hour, r.apart),
        )
    except ValueError:  # no prompts for this side in the library
        return None
    if pick.new_cycle:
        state["cycle"] += 1
        state["seen"] = set()
    state["last_topic"] = pick.prompt.topic
    state["seen"].add(pick.prompt.id)
    history.append(
        {
            "space_id": member.space_id,
            "member_id": member.id,
            "prompt_id": pick.prompt.id,
            "cycle": state["cycle"],
            "shown_at": now,
        }
    )
    return pick.prompt.id


def side_rounds(
    members: Sequence[Partner], shown: Iterable[tuple[int, str, int]], library: Library
) -> dict[int, dict[str, Any]]:
    """Each sided partner's round: the side prompts seen in it, and the last one's topic, from
    the (member, prompt, cycle) prompts they were shown, oldest first."""
    state: dict[int, dict[str, Any]] = {
        p.id: {"seen": set(), "cycle": p.side_cycle, "was": p.side_cycle, "last_topic": None}
        for p in members
    }
    for member_id, prompt_id, cycle in shown:
        entry = state[member_id]
        if cycle == entry["cycle"]:
            entry["seen"].add(prompt_id)
        prompt = library.by_id.get(prompt_id)
        if prompt is not None:
            entry["last_topic"] = prompt.topic
    return state
