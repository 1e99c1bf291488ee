"""How the core's shared messages look: prompts, check-ins, local dates and times."""

from __future__ import annotations

from datetime import date, datetime

from bot.content import TOPICS, Prompt, Question
from bot.messages import Address, Button, Outgoing
from bot.timeparse import zone_from_name

SCORES = range(1, 6)


def local_when(instant: datetime, zone: str, now: datetime | None = None) -> str:
    """ "today at 20:30", "tomorrow at 08:00" or "Tue 24 Nov at 20:30", in the chat's time."""
    tz = zone_from_name(zone)
    local = instant.astimezone(tz)
    clock = local.strftime("%H:%M")
    if now is not None:
        days = (local.date() - now.astimezone(tz).date()).days
        if days == 0:
            return f"today at {clock}"
        if days == 1:
            return f"tomorrow at {clock}"
    return f"{day_label(local.date())} at {clock}"


def day_label(day: date) -> str:
    return day.strftime("%a %d %b").replace(" 0", " ")


def prompt_message(to: Address, prompt: Prompt, day: date) -> Outgoing:
    title = TOPICS[prompt.topic]
    return Outgoing(to, f"🌱 Today's step · {title}\n\n{prompt.render(day.strftime('%A'))}")


def checkin_action(delivery_id: int, score: int) -> str:
    return f"a:{delivery_id}:{score}"


# Discord bots without the message-content intent cannot read replies; the adapter adds a button.
NOTE_HINTS = {"discord": "To add a note, tap “Add a note”."}


def checkin_message(to: Address, question: Question, delivery_id: int) -> Outgoing:
    hint = NOTE_HINTS.get(to.platform, "To add a note, reply to this message.")
    text = (
        f"💬 Check-in: {question.text}\n"
        f"1 = {question.low}, 5 = {question.high}. Each of you, tap your answer. {hint}"
    )
    buttons = tuple(Button(str(s), checkin_action(delivery_id, s)) for s in SCORES)
    return Outgoing(to, text, buttons)
