"""How the core's shared messages look: prompts, check-ins, local dates and times."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot import actions
from bot.content import TOPICS, Prompt, Question
from bot.messages import Address, Button, Outgoing
from bot.timeparse import zone_from_name

SCORES = range(1, 6)
# Characters that reorder the text around them (U+202A-202E, U+2066-2069, the marks): inside one
# of Tandem's lines they could make the partner read words in another order than written.
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
)
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x0b\x0c\x85]+\s*")


def without_reordering(text: str) -> str:
    return text.translate(_BIDI)


def one_line(text: str) -> str:
    """What someone wrote (a note, a promise, a name) as it is quoted inside one of Tandem's
    lines: on one line, since a line break could pass for a line of Tandem's own (another
    partner's score, say), and with no reordering."""
    return _LINE_BREAKS.sub(" / ", without_reordering(text)).strip()


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


# A day's English name, without strftime's trip through the C library's locale at every prompt.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def prompt_message(to: Address, prompt: Prompt, day: date, *, bulk: bool = False) -> Outgoing:
    """`bulk`: sent on schedule rather than in answer to someone (see Outgoing.bulk); the other
    builders here take it too."""
    title = TOPICS[prompt.topic]
    text = f"🌱 Today's step · {title}\n\n{prompt.render(WEEKDAYS[day.weekday()])}"
    return Outgoing(to, text, bulk=bulk)


# Discord bots without the message-content intent cannot read replies; the adapter adds a button.
NOTE_HINTS = {"discord": "To add a note, tap “Add a note”."}
SKIP_LABEL = "Skip today"
PAIR_LABEL = "🔒 Answer privately"


def _note_hint(to: Address, shared: bool = False) -> str:
    """How to add a note; in the shared chat, that a reply there is read by everyone in it."""
    hint = NOTE_HINTS.get(to.platform, "To add a note, reply to this message.")
    if shared and to.platform not in NOTE_HINTS:
        hint += " A reply in a group is seen by everyone in it."
    return hint


def score_buttons(delivery_id: int, question: Question) -> tuple[Button, ...]:
    scores = tuple(
        Button(str(s), actions.answer(delivery_id, s), detail=question.label(s)) for s in SCORES
    )
    return (*scores, Button(SKIP_LABEL, actions.answer(delivery_id, actions.SKIP)))


def _scale(question: Question) -> str:
    return " · ".join(f"{s} {question.label(s)}" for s in SCORES) + "."


def _reflection(reflection: Question | None) -> str:
    if reflection is None:
        return ""
    return f"\nTo reflect on, if you like (as a note): {reflection.text}"


def checkin_message(
    to: Address,
    question: Question,
    delivery_id: int,
    variant: str = "full",
    reflection: Question | None = None,
    *,
    bulk: bool = False,
) -> Outgoing:
    """The check-in in the couple's shared chat: for everyone to answer, or a pointer to the
    private chats (with buttons for anyone who answers here)."""
    if variant == "line":
        return Outgoing(
            to,
            f"💬 Today's check-in ({question.text}) is waiting in each of your private chats with "
            "me. The answers are shown here once you've both answered.",
            bulk=bulk,
        )
    pair = Button(PAIR_LABEL, actions.PAIR)
    head = f"💬 Check-in: {question.text}\n{_scale(question)} "
    if variant == "mixed":
        text = (
            f"💬 Today's check-in is in your private chats with me: {question.text}\n"
            f"{_scale(question)} No private chat with me yet? Tap your answer here; I'll confirm "
            "it only to you, and the scores are shown once you've both answered."
        )
    else:
        text = (
            head + "Each of you, tap your answer; the scores are shown once you've both "
            f"answered. {_note_hint(to, shared=True)}"
        )
    return Outgoing(
        to,
        text + _reflection(reflection),
        (*score_buttons(delivery_id, question), pair),
        bulk=bulk,
    )


def here_too_message(to: Address, name: str, question: Question, delivery_id: int) -> Outgoing:
    """The check-in in the shared chat for a partner whose private chat is gone that day: they
    answer here, as a partner with no private chat does. It says nothing of why."""
    text = (
        f"💬 {name}, today's check-in is here for you too: {question.text}\n{_scale(question)} "
        "Tap your answer; I'll confirm it only to you, and the scores are shown once you've both "
        "answered."
    )
    return Outgoing(
        to, text, (*score_buttons(delivery_id, question), Button(PAIR_LABEL, actions.PAIR))
    )


def private_checkin_message(
    to: Address,
    question: Question,
    delivery_id: int,
    day: date,
    reflection: Question | None,
    *,
    bulk: bool = False,
) -> Outgoing:
    """The check-in in one partner's private chat: only they see it until the reveal."""
    text = (
        f"💬 Your check-in for {day_label(day)}: {question.text}\n{_scale(question)} "
        f"Only you see your answer until you've both answered. {_note_hint(to)}"
    )
    return Outgoing(
        to,
        text + _reflection(reflection),
        score_buttons(delivery_id, question),
        protect=True,
        bulk=bulk,
    )


def side_prompt_message(to: Address, prompt: Prompt, day: date, *, bulk: bool = False) -> Outgoing:
    """A prompt for one partner's side, in their private chat only."""
    weekday = WEEKDAYS[day.weekday()]
    text = f"🌱 Just for you today · {TOPICS[prompt.topic]}\n\n{prompt.render(weekday)}"
    return Outgoing(to, text, protect=True, bulk=bulk)
