"""Puts claimed jobs' messages together: from content alone, or through their kind's composer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.content import Library
from bot.delivery.jobs import Job
from bot.messages import Outgoing
from bot.render import (
    checkin_message,
    private_checkin_message,
    prompt_message,
    side_prompt_message,
)

log = logging.getLogger(__name__)

# Kinds whose message is put together from the database when it is sent (the weekly look back,
# a promise's follow-up), rather than from content alone. None: nothing to send after all.
Composer = Callable[[list[Job]], Awaitable[list[Outgoing | None]]]
# Adds to the messages already rendered for a kind (today's question, in a partner's check-in);
# if it fails, they go out as they were.
Finisher = Callable[[list[Job], list[Outgoing]], Awaitable[list[Outgoing]]]


def render(job: Job, library: Library, bulk: bool = False) -> Outgoing:
    """A job's message from content alone: a prompt, a side's prompt, or a check-in (in a
    partner's private chat, or in the group as its variant says)."""
    if job.kind == "prompt":
        prompt = library.by_id[job.content_id]
        return prompt_message(job.address, prompt, job.local_date, bulk=bulk)
    if job.kind == "side":
        prompt = library.by_id[job.content_id]
        return side_prompt_message(job.address, prompt, job.local_date, bulk=bulk)
    question = library.scored_question(job.content_id)
    reflection = library.reflection_for(job.local_date.toordinal(), question.id)
    if job.recipient:
        return private_checkin_message(
            job.address, question, job.delivery_id, job.local_date, reflection, bulk=bulk
        )
    return checkin_message(
        job.address, question, job.delivery_id, job.variant or "full", reflection, bulk=bulk
    )


async def render_all(
    jobs: list[Job],
    bulk: bool,
    library: Library,
    composers: dict[str, Composer],
    finishers: dict[str, Finisher] | None = None,
) -> tuple[list[Outgoing | None], dict[int, str]]:
    """Each job's message (None: nothing to say after all), and the jobs that could not be
    rendered, each with its reason; one bad job never holds up the rest. `bulk` marks them
    scheduled, so the platform may hold them behind replies someone is waiting for."""
    messages: list[Outgoing | None] = [None] * len(jobs)
    broken: dict[int, str] = {}
    by_kind: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        if job.kind in composers:
            by_kind.setdefault(job.kind, []).append(index)
            continue
        try:
            messages[index] = render(job, library, bulk)
        except Exception as err:  # say, a prompt removed from content/ since it was claimed
            log.error(
                "rendering %s %s failed with %s", job.kind, job.content_id, type(err).__name__
            )
            broken[index] = f"could not render: {type(err).__name__}"
    for kind, indexes in by_kind.items():
        try:
            composed = await composers[kind]([jobs[i] for i in indexes])
        except Exception as err:  # a bug in one kind must not stop the other deliveries
            log.error("composing %s failed with %s", kind, type(err).__name__)
            broken.update((i, f"could not compose: {type(err).__name__}") for i in indexes)
            continue
        for index, message in zip(indexes, composed, strict=True):
            messages[index] = message
    for kind, finish in (finishers or {}).items():
        await _finish(kind, finish, jobs, messages)
    for index, job in enumerate(jobs):
        message = messages[index]
        if message is not None and (job.parts_sent or bulk != message.bulk):
            messages[index] = replace(message, resume_at_part=job.parts_sent, bulk=bulk)
    return messages, broken


async def _finish(
    kind: str, finish: Finisher, jobs: list[Job], messages: list[Outgoing | None]
) -> None:
    indexes = [i for i, job in enumerate(jobs) if job.kind == kind and messages[i] is not None]
    if not indexes:
        return
    try:
        done = await finish([jobs[i] for i in indexes], [messages[i] for i in indexes])  # type: ignore[misc]
    except Exception as err:  # the message goes out without the addition, never not at all
        log.error("finishing %s failed with %s", kind, type(err).__name__)
        return
    for index, message in zip(indexes, done, strict=True):
        messages[index] = message
