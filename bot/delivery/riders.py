"""What rides inside a chat's one message of the day. A claim plans the day's step, and a
sided partner's own prompt, `carried` beside the message that goes to that chat (the check-in,
or with no check-in set, the step in a partner's private chat); here they are found again when
that message is put together, as jobs of their own kind to render."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from bot.delivery.jobs import Job
from bot.messages import Outgoing
from bot.store import Delivery, Store

SEPARATOR = "\n\n"
# Why a carried row was not sent after all: its words had no place in the message.
LEFT_OUT = "not sent: no place for it in the message (on a path)"


async def riders(store: Store, jobs: list[Job]) -> list[list[Job]]:
    """For each job, the rows carried in it (the step, then a side's own prompt), as jobs with
    its address and their own row's id: those of its space, local day and recipient, planned
    `carried`."""
    found: list[list[Job]] = [[] for _ in jobs]
    # A check-in carries the step or a side; a step carries only a side, in a private chat (a
    # step to a group carries nothing, so the daily burst of group steps asks nothing here).
    wanted = {
        (job.space_id, job.local_date, job.recipient): i
        for i, job in enumerate(jobs)
        if job.kind == "checkin" or (job.kind == "prompt" and job.recipient)
    }
    if not wanted:
        return found
    d = Delivery.__table__.c  # type: ignore[attr-defined]
    async with store.read() as session:
        conn = await session.connection()
        rows = await conn.execute(
            select(d.id, d.space_id, d.local_date, d.recipient, d.kind, d.content_id)
            .where(
                d.status == "carried",
                d.space_id.in_({s for s, _, _ in wanted}),
                d.local_date.in_({day for _, day, _ in wanted}),
            )
            .order_by(d.kind)  # "prompt" before "side": the step first
        )
        for row in rows:
            index = wanted.get((row.space_id, row.local_date, row.recipient))
            if index is None or row.content_id is None:
                continue
            carrier = jobs[index]
            if carrier.kind == "prompt" and row.kind != "side":
                continue
            found[index].append(
                replace(carrier, delivery_id=row.id, kind=row.kind, content_id=row.content_id)
            )
    return found


def woven(
    message: Outgoing, before: list[Outgoing | None], after: list[Outgoing | None]
) -> Outgoing:
    """`message` with the riders' words around it: the step above, a side's own prompt below;
    its buttons stay its own."""
    parts = [m.text for m in before if m is not None]
    parts += [message.text]
    parts += [m.text for m in after if m is not None]
    return replace(message, text=SEPARATOR.join(parts))


async def left_out(store: Store, delivery_ids: list[int]) -> None:
    """Carried rows whose words turned out to have no place in their message (a side's own
    prompt, on a path: the side's step comes instead) are `skipped`: never put back into a
    retry, and never listed by /export as sent."""
    if not delivery_ids:
        return
    d = Delivery.__table__.c  # type: ignore[attr-defined]
    async with store.writing() as conn:
        await conn.execute(
            update(Delivery)
            .where(d.id.in_(delivery_ids), d.status == "carried")
            .values(status="skipped", reason=LEFT_OUT)
        )
