"""Messages per couple-day: a simulated day through the real core (SQLite, a recording
messenger), for each way a couple can be set up, with the step and the check-in both at 21:00.

Each partner taps a score and passes on today's question, so the reveals come too. The old
layout (the step, a group line, the check-in and today's question each a message of its own) is
not run: it is counted from what the sent messages hold, and said so.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DAY = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # a Monday: no weekly look back that day
LAYOUTS = ("group, both private chats", "private chats only", "one without a private chat")


class Clock:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.value


@dataclass
class Recorder:
    """Keeps every message the core sends on its own (not replies to the one who asked)."""

    sent: list[Any] = field(default_factory=list)

    async def send(self, msg: Any) -> Any:
        from bot.messages import SendResult

        self.sent.append(msg)
        return SendResult.delivered(str(len(self.sent)))

    async def is_member(self, chat: Any, user_id: str) -> bool:
        return True

    async def delete(self, to: Any, message_ref: str) -> bool:
        return True


async def couple_day(layout: str) -> dict[str, float]:
    """One couple's Monday: what went out on schedule, the reveals, and the old layout's count."""
    from bot.content import default_content_dir, load_content
    from bot.messages import Address, Incoming
    from bot.migrate import upgrade
    from bot.service import Tandem
    from bot.store import Store, make_engine

    home = Address("bench", "group")

    def dm(user: str) -> Address:
        return Address("bench", f"dm-{user}")

    def said(user: str, text: str = "", to: Address = home, **kw: Any) -> Incoming:
        private = to != home
        return Incoming(to, user, user.title(), text, direct=private, whisper=private, **kw)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(make_engine(f"sqlite:///{Path(tmp) / 'day.db'}"))
        await upgrade(store.engine)
        clock, messenger = Clock(), Recorder()
        core = Tandem(store, clock, load_content(default_content_dir()), messenger)  # type: ignore[arg-type]
        where = {"alice": dm("alice"), "bob": dm("bob")}
        if layout == "private chats only":
            await core.handle(said("alice", "/start", dm("alice")))
            [invite] = await core.handle(said("alice", "/pair", dm("alice")))
            code = next(b.start for b in invite.buttons if b.start)
            await core.handle(said("bob", f"/start {code}", dm("bob")))
            setup = dm("alice")
        else:
            for user in ("alice", "bob"):
                await core.handle(said(user, "/start"))
                if user == "bob" and layout == "one without a private chat":
                    where["bob"] = home
                    continue
                [link] = await core.handle(said(user, "/pair"))
                code = next(b.start for b in link.buttons if b.start)
                await core.handle(said(user, f"/start {code}", dm(user)))
            setup = home
        await core.handle(said("alice", "/remind 21:00", setup))
        await core.handle(said("alice", "/checkin 21:00", setup))
        messenger.sent.clear()
        clock.value = DAY
        await core.dispatch_due()
        scheduled = list(messenger.sent)
        revealed = 0
        for user, chat in where.items():
            checkin = next(m for m in scheduled if m.to == chat and "💬 " in m.text)
            score = next(b.action for b in checkin.buttons if b.label == "4")
            passing = next(b.action for b in checkin.buttons if b.label == "Pass on this one")
            for action in (score, passing):
                out = await core.handle(said(user, to=chat, action=action))
                revealed += sum("both" in m.text and not m.private for m in out)
        await store.close()
    # The old layout: each step, each check-in and each question a message of its own, and in
    # a group where both answer in private, a line saying the check-in is out.
    parts = sum(
        m.text.count("🌱") + m.text.count("💬 ") + m.text.count("❓ Today's question")
        for m in scheduled
    )
    line = layout == "group, both private chats"
    return {"scheduled": len(scheduled), "old": parts + line, "reveals": revealed}
