"""The console adapter: a terminal chat on the same core. Type as a member; buttons are numbers.

The terminal shows every chat at once: the couple's shared chat, and each member's private chat
with Tandem (/private switches to yours, /shared back). Each message says where it went.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.actions import is_checkin
from bot.messages import Address, Button, Incoming, Outgoing, SendResult, SendStatus
from bot.schedules.tomorrow import Movable, tomorrow
from bot.service import Tandem
from bot.timeparse import zone_from_name

SHARED = Address("console", "console")
MENTION = "@tandem"
INTRO = """Tandem console: you are chatting as {name}, in the shared chat. Try /start, /remind 8pm, /checkin.
  /as Bob       switch member          a number   taps that button of the newest message here
  /tap 7 3      taps button 3 of message #7 (each message shows its number)
  /private      your private chat with Tandem      /shared   back to the couple's chat
  /reply text   answer the newest message here that asks for words (a question, a check-in's note)
  @tandem hi    words for Tandem in the shared chat (in your private chat, just type)
  /block        block Tandem in your private chat, to try what happens (a /pair link undoes it)
  /tomorrow     move the clock on to tomorrow's check-in and deliver what comes on the way
  /quit         leave
"""


def private_address(name: str) -> Address:
    return Address("console", f"dm:{name.lower()}")


class ConsoleAdapter:
    """Reads lines from stdin as members' messages and prints what Tandem says."""

    platform = "console"

    def __init__(self, out: TextIO | None = None, export_dir: Path = Path("data/exports")) -> None:
        self.out = out or sys.stdout
        self.export_dir = export_dir
        self.member = "Alice"
        self.private = False
        self._ids = itertools.count(1)
        self._buttons: dict[str, tuple[Button, ...]] = {}  # per chat: the newest buttons shown
        self._buttons_on: dict[str, str] = {}  # per chat: the id of the message they are on
        # Every message with buttons, by its number: /tap 7 3 presses an older one's.
        self._tappable: dict[str, tuple[Address, tuple[Button, ...]]] = {}
        self._removed: set[str] = set()
        # Private chats whose member blocked Tandem (/block): sends there are refused for good,
        # as Telegram's 403 "bot was blocked by the user" is, until a /pair link is opened.
        self._blocked: set[str] = set()
        # Per chat: the newest message that asks for words (a check-in, today's question's
        # "Answer"), which /reply answers.
        self._last_checkin: dict[str, str] = {}
        self.tandem: Tandem | None = None

    @property
    def here(self) -> Address:
        return private_address(self.member) if self.private else SHARED

    async def start(self, tandem: Tandem) -> None:
        self.tandem = tandem

    async def stop(self) -> None:
        return None

    async def send(self, msg: Outgoing) -> SendResult:
        if msg.to.chat_id in self._blocked:
            return SendResult(SendStatus.GONE, reason="blocked")
        return SendResult.delivered(self._show(msg))

    async def is_member(self, chat: Address, user_id: str) -> bool:
        return True  # everyone at this terminal is in the shared chat

    async def delete(self, to: Address, message_ref: str) -> bool:
        """A terminal cannot unprint a line: it says the message is gone, and its buttons go."""
        if message_ref in self._removed or not message_ref.isdigit():
            return False
        self._removed.add(message_ref)
        self._tappable.pop(message_ref, None)
        if self._buttons_on.get(to.chat_id) == message_ref:
            del self._buttons[to.chat_id], self._buttons_on[to.chat_id]
        self._say(f"(message #{message_ref} removed from {self._where(to)})")
        return True

    def _where(self, to: Address) -> str:
        if to == SHARED:
            return "shared chat"
        return f"{to.chat_id.removeprefix('dm:').title()}'s private chat"

    def _in(self, to: Address) -> str:
        return f"in the {self._where(to)}" if to == SHARED else f"in {self._where(to)}"

    def _show(self, msg: Outgoing) -> str:
        # A message that replaces one of Tandem's in place (the /settings menu) keeps its number.
        edited = msg.edit is not None and msg.edit in self._tappable
        message_id = msg.edit if edited and msg.edit is not None else str(next(self._ids))
        prefix = f"(only {self.member} sees this) " if msg.private and msg.to == SHARED else ""
        mark = f"#{message_id} edited" if edited else f"#{message_id}"
        lines = [f"Tandem [{mark}, {self._where(msg.to)}]: {prefix}{msg.text}"]
        if msg.asks:
            self._last_checkin[msg.to.chat_id] = message_id
        if edited and not msg.buttons:
            self._tappable.pop(message_id, None)
        if msg.buttons:
            self._buttons[msg.to.chat_id] = msg.buttons
            self._buttons_on[msg.to.chat_id] = message_id
            self._tappable[message_id] = (msg.to, msg.buttons)
            if is_checkin(msg.buttons):
                self._last_checkin[msg.to.chat_id] = message_id
            lines.append(
                "   " + "   ".join(f"[{i}] {b.label}" for i, b in enumerate(msg.buttons, 1))
            )
            count = len(msg.buttons)
            lines.append(f"   (type 1-{count} now; later, /tap {message_id} 1-{count})")
        if msg.attachment is not None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / msg.attachment.filename
            path.write_bytes(msg.attachment.data)
            icon = "🖼" if msg.attachment.image else "📎"
            lines.append(f"   {icon} {msg.attachment.filename} saved to {path.resolve()}")
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()
        return message_id

    def to_incoming(self, line: str) -> Incoming | None:
        """A typed line as the core's Incoming; None for lines the console handles itself."""
        line = line.strip()
        here = self.here
        me = Incoming(
            here,
            user_id=self.member.lower(),
            user_name=self.member,
            direct=self.private,
            whisper=True,  # the console can show a line to one member alone
        )
        buttons = self._buttons.get(here.chat_id, ())
        if line.split(None, 1)[:1] == ["/tap"]:
            return self._tap(me, line.split()[1:])
        if line.isdigit() and buttons:
            index = int(line) - 1
            if 0 <= index < len(buttons):
                return self._press(me, buttons[index], self._buttons_on.get(here.chat_id))
        if line.startswith("/reply"):
            return replace(
                me,
                text=line[len("/reply") :].strip(),
                reply_to=self._last_checkin.get(here.chat_id, ""),
            )
        if line[:7].lower() == MENTION:  # "@tandem what now?": words addressed to Tandem
            return replace(me, text=line[7:].lstrip(" ,:"), addressed=True)
        return replace(me, text=line) if line else None

    def _press(self, me: Incoming, button: Button, message_id: str | None) -> Incoming:
        if button.start is not None:  # a link that opens my private chat with Tandem
            self.private = True
            self._blocked.discard(self.here.chat_id)
            return replace(me, to=self.here, direct=True, text=f"/start {button.start}")
        return replace(me, action=button.action, message_ref=message_id)

    def _tap(self, me: Incoming, words: list[str]) -> Incoming | None:
        """/tap 7 3: button 3 of message #7, which must be in the chat you are in. Anything
        else is explained here, and nothing reaches Tandem."""
        example = "/tap 3 1 presses button 1 of message #3"
        if len(words) != 2 or not all(w.isdigit() for w in words):
            self._say(f"(type a message's number and a button's: {example})")
            return None
        message_id, number = words
        where, buttons = self._tappable.get(message_id, (None, ()))
        if where is None:
            self._say(
                f"(there is no message #{message_id} with buttons {self._in(me.to)}; {example})"
            )
        elif where != me.to:
            self._say(
                f"(message #{message_id} is {self._in(where)}; go there first with /as or /private)"
            )
        elif not 1 <= int(number) <= len(buttons):
            self._say(f"(message #{message_id} has buttons 1 to {len(buttons)}; {example})")
        else:
            return self._press(me, buttons[int(number) - 1], message_id)
        return None

    def _say(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()

    async def feed(self, line: str) -> bool:
        """Handles one typed line; False when the member wants to leave."""
        assert self.tandem is not None
        stripped = line.strip()
        if stripped in ("/quit", "/exit"):
            return False
        if stripped.startswith("#"):  # a comment, as in the README's quick start
            return True
        if stripped.startswith("/as"):
            name = stripped[3:].strip()[:40]
            if name:
                self.member = name
            self._say(f"(you are now {self.member}, {self._in(self.here)})")
            return True
        if stripped == "/block":
            self._blocked.add(private_address(self.member).chat_id)
            self._say(f"({self.member} blocked Tandem in their private chat)")
            return True
        if stripped == "/tomorrow":
            await self._tomorrow()
            return True
        if stripped in ("/private", "/shared"):
            self.private = stripped == "/private"
            self._say(f"(you are now {self._in(self.here)})")
            return True
        incoming = self.to_incoming(stripped)
        if incoming is not None:
            if incoming.to != self.here:
                incoming = replace(incoming, to=self.here)
            for reply in await self.tandem.handle(incoming):
                self._show(reply)
        return True

    async def _tomorrow(self) -> None:
        """The clock moves on a day, to just past tomorrow's last daily time; what comes due
        on the way is delivered at its own time, as if the day had been lived."""
        assert self.tandem is not None
        clock = self.tandem.clock
        if not isinstance(clock, Movable):
            self._say("(this console's clock cannot be moved)")
            return
        when, zone = await tomorrow(
            self.tandem.store, self.platform, clock, self.tandem.dispatch_due
        )
        local = when.astimezone(zone_from_name(zone))
        self._say(f"(it is now {local:%a %d %b, %H:%M} here, {zone} time)")

    async def run(self) -> None:
        """Reads stdin until end of file or /quit."""
        self.out.write(INTRO.format(name=self.member) + "\n")
        self.out.flush()
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            if not await self.feed(line.decode(errors="replace")):
                break
