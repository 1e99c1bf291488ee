"""Today's question in the scheduled check-in: one message a day, not two."""

from __future__ import annotations

from datetime import date, datetime

from bot.delivery import Job
from bot.messages import Outgoing
from bot.questions.commands import in_checkin
from bot.questions.today import todays_for
from bot.store import Store


async def with_questions(
    store: Store, now: datetime, jobs: list[Job], messages: list[Outgoing]
) -> list[Outgoing]:
    """Each check-in with its day's question (the same for both partners of a space): a
    partner's private one, and the couple's shared one, which is there only for a partner with
    no private chat (their words go in a form only they see where the platform has one, Discord;
    elsewhere its Answer says how to link a private chat, and Pass works anywhere)."""
    out = list(messages)
    asking = [i for i, job in enumerate(jobs) if job.recipient or job.variant in ("full", "mixed")]
    days: dict[date, set[int]] = {}
    for index in asking:
        days.setdefault(jobs[index].local_date, set()).add(jobs[index].space_id)
    if not days:
        return out
    async with store.unit() as session:
        chosen = {day: await todays_for(session, spaces, day, now) for day, spaces in days.items()}
    for index in asking:
        job = jobs[index]
        question = chosen[job.local_date][job.space_id]
        out[index] = in_checkin(messages[index], question, job.local_date)
    return out
