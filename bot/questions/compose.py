"""Today's question in a partner's scheduled check-in: one private message a day, not two."""

from __future__ import annotations

from datetime import datetime

from bot.delivery import Job
from bot.messages import Outgoing
from bot.questions.commands import in_checkin
from bot.questions.today import todays
from bot.store import Store


async def with_questions(
    store: Store, now: datetime, jobs: list[Job], messages: list[Outgoing]
) -> list[Outgoing]:
    """Each private check-in with its day's question (the same for both partners of a space);
    the couple's shared check-in stays as it is."""
    out = list(messages)
    if not any(job.recipient for job in jobs):
        return out
    async with store.unit() as session:
        for index, job in enumerate(jobs):
            if job.recipient:
                question = await todays(session, job.space_id, job.local_date, now)
                out[index] = in_checkin(messages[index], question, job.local_date)
    return out
