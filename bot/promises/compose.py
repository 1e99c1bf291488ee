"""Composing a promise's follow-up as it is sent: only if the promise is still open then."""

from __future__ import annotations

from bot.delivery import Job
from bot.messages import Outgoing
from bot.promises.keeping import follow_up
from bot.store import Member, Promise, Store


async def compose_follow_ups(store: Store, jobs: list[Job]) -> list[Outgoing | None]:
    """Each promise's question, if it is still open by the time it is sent."""
    composed: list[Outgoing | None] = []
    async with store.read() as session:
        for job in jobs:
            promise = await session.get(Promise, int(job.content_id))
            member = await session.get(Member, promise.member_id) if promise else None
            if promise is None or member is None or promise.status != "open":
                composed.append(None)
                continue
            composed.append(
                follow_up(job.address, promise, member.display_name, bool(job.recipient))
            )
    return composed
