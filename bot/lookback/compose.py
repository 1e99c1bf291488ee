"""Composing the weekly look backs for a batch of spaces, each with its chart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.chart import ChartData
from bot.content import Library
from bot.delivery import Job
from bot.lookback.weekly import LookBack, look_back
from bot.messages import Attachment, Outgoing
from bot.ports import Clock
from bot.store import Space, Store

Picture = Callable[[ChartData | None, str], Awaitable[Attachment | None]]


async def compose_weekly(
    jobs: list[Job], store: Store, clock: Clock, library: Library, picture: Picture
) -> list[Outgoing | None]:
    """The look backs for a batch of spaces: each chart starts drawing as soon as its
    space is read, while the next one is read."""
    now = clock.now()
    backs: dict[int, LookBack | None] = {}
    drawing: dict[int, asyncio.Task[Attachment | None]] = {}

    async def draw(back: LookBack) -> Attachment | None:
        return await picture(back.chart, f"look-back-{back.end.isoformat()}.png")

    try:
        async with store.read() as session:
            for space_id in dict.fromkeys(job.space_id for job in jobs):
                space = await session.get(Space, space_id)
                back = None if space is None else await look_back(session, space, now, library)
                backs[space_id] = back
                if back is not None and back.chart is not None:
                    drawing[space_id] = asyncio.create_task(draw(back))
        pictures = dict(zip(drawing, await asyncio.gather(*drawing.values()), strict=True))
    finally:
        for task in drawing.values():
            task.cancel()
    composed: list[Outgoing | None] = []
    for job in jobs:
        back = backs[job.space_id]
        composed.append(
            None
            if back is None
            else Outgoing(
                job.address, back.text, attachment=pictures.get(job.space_id), protect=True
            )
        )
    return composed
