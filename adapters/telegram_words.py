"""What people type, read for this bot: "/remind@TandemBot 8pm" as the core's command line, and
a message that mentions Tandem (in a group, or out of habit in a private chat) as the words
meant for it."""

from __future__ import annotations

from telegram import Message
from telegram.constants import MessageEntityType


def command_line(text: str, bot_username: str) -> str | None:
    """ "/remind@TandemBot 8pm" -> "/remind 8pm"; None when the command is for another bot."""
    head, *rest = text.split(None, 1)
    name, _, target = head.partition("@")
    if target and target.lower() != bot_username.lower():
        return None
    return " ".join([name, *rest])


def mention_words(message: Message, bot_username: str) -> str | None:
    """The words of a message that mentions this bot, without the mention ("hi" for a bare
    one); None when it mentions someone else only."""
    me = f"@{bot_username}".lower()
    found = message.parse_entities([MessageEntityType.MENTION])
    ours = [entity for entity, said in found.items() if said.lower() == me]
    if not ours or message.text is None:
        return None
    # Cut from the end, so each entity's offset still holds (UTF-16 units, as Telegram counts).
    raw = message.text.encode("utf-16-le")
    for entity in sorted(ours, key=lambda e: e.offset, reverse=True):
        raw = raw[: entity.offset * 2] + raw[(entity.offset + entity.length) * 2 :]
    return raw.decode("utf-16-le").strip(" ,:") or "hi"
