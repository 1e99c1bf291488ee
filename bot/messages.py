"""The platform-neutral words the core and the adapters speak: frozen dataclasses, no platform imports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Address:
    """One chat on one platform: a Telegram group or DM, a Discord channel or DM, the console."""

    platform: str
    chat_id: str


class Event(StrEnum):
    """Things that happen to a chat that are not a member speaking."""

    ADDED = "added"  # the bot joined the chat, or a DM was opened
    REMOVED = "removed"  # the bot was removed or blocked


@dataclass(frozen=True)
class Incoming:
    """A member's command, button tap, note or a chat event, as the core sees it."""

    to: Address
    user_id: str = ""
    user_name: str = ""
    text: str = ""  # a command line such as "/remind 8pm" (no @botname), or a note
    action: str | None = None  # the action of a button the member tapped
    reply_to: str | None = None  # the platform id of the bot message this replies to
    event: Event | None = None
    # A one-to-one chat between this person and Tandem (a Telegram DM, a Discord DM, /private).
    direct: bool = False
    # Words in a shared chat addressed to Tandem: it was mentioned (the mention taken out of
    # `text`). A reply to Tandem's message says so by `reply_to`; a direct chat always is.
    addressed: bool = False
    # A reply marked private reaches this person alone (a Discord ephemeral, a Telegram button
    # answer). False for a typed command in a Telegram group: there every reply is public.
    whisper: bool = False
    # The id of this person's private chat with Tandem, where the platform can open one on its
    # own (Discord opens a DM on /pair); None where a deep link must do it (Telegram).
    private_chat: str | None = None
    # The platform id of the message this came with: the person's own message, or, for a tap,
    # Tandem's message that carries the button ("Remove this from the chat" removes a person's
    # own message only in their private chat). None where there is none (a slash command) or no
    # bot may remove it (a person's own message in a Discord DM).
    message_ref: str | None = None

    @property
    def spoken_to(self) -> bool:
        """Meant for Tandem: in a direct chat, a reply to its message, or a mention."""
        return self.direct or self.addressed or bool(self.reply_to)


@dataclass(frozen=True)
class Button:
    """A tappable choice; `action` becomes Telegram callback_data or a Discord custom_id.

    A button with `start` set instead opens this person's private chat with Tandem, which then
    receives "/start <start>" (Telegram: a t.me deep link; the console: a switch to /private).
    """

    label: str
    action: str = ""
    start: str | None = None
    detail: str = ""  # a longer label, for platforms whose buttons have room (Discord)
    # One option of a choice among many (days, topics): Discord gathers a message's choices into
    # one select menu; elsewhere it is a button like any other.
    choice: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: the /export JSON, or a picture such as the look back's chart."""

    filename: str
    data: bytes
    mime: str = "application/json"
    alt: str = ""  # what a picture shows, in one line, for screen readers

    @property
    def image(self) -> bool:
        """A picture, which platforms show as one (Telegram's sendPhoto, a Discord embed)."""
        return self.mime.startswith("image/")


@dataclass(frozen=True)
class Outgoing:
    """A message the core wants shown in a chat."""

    to: Address
    text: str
    buttons: tuple[Button, ...] = ()
    attachment: Attachment | None = None
    private: bool = False  # only for the member who asked (callback answer, ephemeral reply)
    protect: bool = False  # not to be forwarded or saved (Telegram's protect_content)
    # A retry of a message split into parts: the parts an earlier attempt already delivered
    # (its SendResult.parts_sent). The adapter sends from the next part on, never those again.
    resume_at_part: int = 0
    # A scheduled delivery (a daily prompt, a check-in due at its time): the platform may hold it
    # behind replies someone is waiting for, so a burst of prompts never slows a couple's /checkin.
    bulk: bool = False
    # The message asks its reader for words (today's question's "Answer"): Telegram shows a
    # reply box (ForceReply); the console's /reply answers the newest such message.
    asks: bool = False
    # The platform id of Tandem's own message this one replaces in place (the /settings menu
    # after a tap: Telegram's editMessageText, Discord's edited interaction message, the
    # console's "edited #N"). None: a new message.
    edit: str | None = None


class SendStatus(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"  # permanent: chat deleted, bot removed or blocked
    MOVED = "moved"  # the chat has a new address (Telegram group migrated to a supergroup)
    RETRY = "retry"  # temporary: network, rate limit, server error
    FAILED = "failed"  # permanent for this message only (bad request); the chat stays active


@dataclass(frozen=True)
class SendResult:
    """What happened to one Outgoing; adapters map their platform's errors to these."""

    status: SendStatus
    message_id: str | None = None
    new_address: Address | None = None
    retry_after: float | None = None
    reason: str = ""  # a short error class name, never message contents
    # How many parts of a split message the platform confirmed, those of earlier attempts
    # included; on RETRY, what the retry passes back as Outgoing.resume_at_part.
    parts_sent: int = 0

    @classmethod
    def delivered(cls, message_id: str | None = None) -> SendResult:
        return cls(SendStatus.DELIVERED, message_id=message_id)
