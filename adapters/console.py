"""The console adapter: a terminal chat on the same core. Type as a member; buttons are numbers."""

from __future__ import annotations

import asyncio
import itertools
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.messages import Address, Incoming, Outgoing, SendResult
from bot.service import Tandem

ADDRESS = Address("console", "console")
INTRO = """Tandem console: you are chatting as {name}. Try /start, /remind 8pm, /checkin, /tip.
  /as Bob       switch member          a number   taps that button of the last message
  /reply text   reply to the last check-in (a note)            /quit   leave
"""


class ConsoleAdapter:
    """Reads lines from stdin as members' messages and prints what Tandem says."""

    platform = "console"

    def __init__(self, out: TextIO | None = None, export_dir: Path = Path("data/exports")) -> None:
        self.out = out or sys.stdout
        self.export_dir = export_dir
        self.member = "Alice"
        self._ids = itertools.count(1)
        self._buttons: list[
            tuple[str, str]
        ] = []  # (label, action) of the newest message with buttons
        self._last_checkin: str | None = None
        self.tandem: Tandem | None = None

    async def start(self, tandem: Tandem) -> None:
        self.tandem = tandem

    async def stop(self) -> None:
        return None

    async def send(self, msg: Outgoing) -> SendResult:
        return SendResult.delivered(self._show(msg))

    def _show(self, msg: Outgoing) -> str:
        message_id = str(next(self._ids))
        prefix = f"(only {self.member} sees this) " if msg.private else ""
        lines = [f"Tandem [#{message_id}]: {prefix}{msg.text}"]
        if msg.buttons:
            self._buttons = [(b.label, b.action) for b in msg.buttons]
            if msg.buttons[0].action.startswith("a:"):
                self._last_checkin = message_id
            lines.append(
                "   " + "   ".join(f"[{i}] {b.label}" for i, b in enumerate(msg.buttons, 1))
            )
        if msg.attachment is not None:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = self.export_dir / msg.attachment.filename
            path.write_bytes(msg.attachment.data)
            lines.append(f"   📎 {msg.attachment.filename} saved to {path}")
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()
        return message_id

    def to_incoming(self, line: str) -> Incoming | None:
        """A typed line as the core's Incoming; None for lines the console handles itself."""
        line = line.strip()
        me = Incoming(ADDRESS, user_id=self.member.lower(), user_name=self.member)
        if line.isdigit() and self._buttons:
            index = int(line) - 1
            if 0 <= index < len(self._buttons):
                return replace(me, action=self._buttons[index][1])
        if line.startswith("/reply"):
            return replace(
                me, text=line[len("/reply") :].strip(), reply_to=self._last_checkin or ""
            )
        return replace(me, text=line) if line else None

    async def feed(self, line: str) -> bool:
        """Handles one typed line; False when the member wants to leave."""
        assert self.tandem is not None
        stripped = line.strip()
        if stripped in ("/quit", "/exit"):
            return False
        if stripped.startswith("/as"):
            name = stripped[3:].strip()[:40]
            if name:
                self.member = name
            self.out.write(f"(you are now {self.member})\n\n")
            self.out.flush()
            return True
        incoming = self.to_incoming(stripped)
        if incoming is not None:
            for reply in await self.tandem.handle(incoming):
                self._show(reply)
        return True

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
