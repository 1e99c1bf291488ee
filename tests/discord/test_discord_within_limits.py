"""Tandem's own output stays within Discord's limits, through the real adapter and discord.py, with
the fake refusing what Discord would (see test_discord_limits.py): long text is split, many buttons
are laid out five to a row in at most five rows, long labels are shortened, and every interaction
is acknowledged within Discord's 3 seconds however long the core takes to answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.discord_adapter import ACK_AFTER
from bot import actions
from bot.content import Library
from bot.messages import Address, Button, Incoming, Outgoing, SendStatus
from bot.service import Tandem
from bot.store import Store
from tests.discord.discord_fakes import (
    ACK_WINDOW,
    ALICE,
    HOME,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_LABEL,
    MAX_PER_ROW,
    MAX_ROWS,
    FakeDiscord,
    Post,
    rows_of,
)
from tests.discord.harness import Couple, new_adapter
from tests.fakes import FixedClock

TO_HOME = Address("discord", str(HOME.id))
BIGGEST_ID = 2**63 - 1  # the largest id a database row can have


class Scripted(Tandem):
    """The core, taking `delay` seconds to answer, and saying `says` instead of its own answer."""

    delay = 0.0
    says: list[Outgoing] | None = None

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        await asyncio.sleep(self.delay)
        return self.says if self.says is not None else await super().handle(incoming)


@pytest.fixture
async def scripted(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> AsyncIterator[tuple[Couple, Scripted]]:
    adapter = new_adapter()
    assert adapter.ack_after == ACK_AFTER  # the adapter's real timing, not a test's
    tandem = Scripted(store, clock, library, adapter, platforms=frozenset({adapter.platform}))
    await adapter.start(tandem)
    yield Couple(fake, adapter, tandem, clock), tandem
    await adapter.stop()


def within_limits(post: Post) -> None:
    rows = rows_of(post)
    assert len(post.content) <= MAX_CONTENT
    assert len(rows) <= MAX_ROWS and all(len(r) <= MAX_PER_ROW for r in rows)
    assert all(len(text) <= MAX_LABEL for r in rows for text in r)
    assert all(len(custom_id) <= MAX_CUSTOM_ID for _, custom_id in post.buttons)


def numbered(n: int) -> tuple[Button, ...]:
    return tuple(Button(f"Option {i}", f"o:{i}") for i in range(n))


# Text


@pytest.mark.parametrize(("length", "parts"), [(MAX_CONTENT, 1), (MAX_CONTENT + 1, 2)])
async def test_text_up_to_2000_characters_is_one_message_and_longer_is_split(
    couple: Couple, length: int, parts: int
) -> None:
    text = "x" * length  # not a break in it: the adapter must cut it hard
    result = await couple.adapter.send(Outgoing(TO_HOME, text))
    posts = [p for p in couple.fake.timeline if p.kind == "message"]
    assert result.status is SendStatus.DELIVERED and len(posts) == parts
    assert "".join(p.content for p in posts) == text
    for post in posts:
        within_limits(post)


@pytest.mark.parametrize("private", [True, False])
async def test_a_long_answer_to_a_command_is_split_over_the_reply_and_its_followups(
    scripted: tuple[Couple, Scripted], private: bool
) -> None:
    couple, tandem = scripted
    text = "Small steps, every day. " * 200  # 4,800 characters: three parts
    tandem.says = [Outgoing(TO_HOME, text, numbered(2), private=private)]
    said = await couple.slash(ALICE, "help")  # a command answered without deferring first
    shown = [p for p in said.posts if p.shown]
    assert [p.kind for p in shown] == ["reply", "followup", "followup"]
    assert (said.private if private else said.public) == [p.content for p in shown]
    assert " ".join(p.content for p in shown).split() == text.split()
    assert [p.buttons for p in shown][-1] == [("Option 0", "o:0"), ("Option 1", "o:1")]
    for post in shown:
        within_limits(post)


# Buttons


async def test_25_buttons_fill_five_rows_of_five_on_one_message(couple: Couple) -> None:
    await couple.adapter.send(Outgoing(TO_HOME, "Pick one.", numbered(25)))
    [post] = [p for p in couple.fake.timeline if p.kind == "message"]
    assert rows_of(post) == [[f"Option {i}" for i in range(r, r + 5)] for r in range(0, 25, 5)]
    within_limits(post)


async def test_more_than_25_buttons_continue_on_a_further_message(couple: Couple) -> None:
    result = await couple.adapter.send(Outgoing(TO_HOME, "Pick one.", numbered(27)))
    posts = [p for p in couple.fake.timeline if p.kind == "message"]
    assert result.status is SendStatus.DELIVERED
    assert [p.content for p in posts] == ["Pick one.", ""]
    assert [len(rows_of(p)) for p in posts] == [5, 1]
    assert [label for p in posts for label, _ in p.buttons] == [f"Option {i}" for i in range(27)]
    for post in posts:
        within_limits(post)


async def test_many_buttons_on_an_answer_stay_within_the_limits(
    scripted: tuple[Couple, Scripted],
) -> None:
    couple, tandem = scripted
    tandem.says = [Outgoing(TO_HOME, "Pick one.", numbered(30), private=True)]
    said = await couple.slash(ALICE, "progress")
    shown = [p for p in said.posts if p.shown]
    assert [label for p in shown for label, _ in p.buttons] == [f"Option {i}" for i in range(30)]
    assert all(p.ephemeral for p in shown)
    for post in shown:
        within_limits(post)


@pytest.mark.parametrize(
    ("length", "shown"), [(MAX_LABEL, "w" * MAX_LABEL), (MAX_LABEL + 1, None)], ids=["80", "81"]
)
async def test_a_label_of_80_characters_is_kept_and_a_longer_one_is_shortened(
    couple: Couple, length: int, shown: str | None
) -> None:
    long = "w" * length
    detailed = Button("4", "o:4", detail="d" * 100)  # like a score's "4 · mostly", too long
    await couple.adapter.send(Outgoing(TO_HOME, "Pick one.", (Button(long, "o:1"), detailed)))
    post = couple.fake.last_message(HOME)
    within_limits(post)
    plain, score = [label for label, _ in post.buttons]
    assert plain == shown or (len(plain) == MAX_LABEL and plain == long[:79] + "…")
    assert len(score) == MAX_LABEL and score.startswith("4 · ddd") and score.endswith("…")


async def test_the_longest_actions_tandem_makes_fit_a_custom_id(couple: Couple) -> None:
    far = datetime(9999, 12, 31, tzinfo=UTC)
    longest = [
        actions.answer(BIGGEST_ID, 5),
        actions.share_note(BIGGEST_ID, True),
        actions.forget("all", BIGGEST_ID, far),
        actions.kept(10**18 - 1, "let_go"),  # a promise's id has at most 18 digits
        actions.share_promise(10**18 - 1, False),
        actions.side("doubting"),
    ]
    buttons = tuple(Button(f"B{i}", a) for i, a in enumerate(longest))
    result = await couple.adapter.send(Outgoing(TO_HOME, "Pick one.", buttons))
    assert result.status is SendStatus.DELIVERED
    post = couple.fake.last_message(HOME)
    within_limits(post)
    # The check-in's "Add a note" (made by the adapter) went in too.
    assert [c for _, c in post.buttons] == [*longest[:1], actions.note(BIGGEST_ID), *longest[1:]]


# Timing: Discord drops an interaction that is not acknowledged within 3 s of its dispatch


@pytest.mark.parametrize(
    ("takes", "command", "options", "seen"),
    [
        # Within ACK_AFTER (2 s) the answer itself is the acknowledgement: no "thinking…" flash.
        (1.0, "remind", {"time": "20:30"}, "public"),
        # Just after ACK_AFTER, and past Discord's 3 s: the adapter acknowledges in time, and
        # the answer replaces the "thinking…" note (private) or follows it (public).
        (ACK_AFTER + 0.3, "remind", {"time": "20:30"}, "public"),
        (ACK_WINDOW + 0.5, "remind", {"time": "25:00"}, "private"),
    ],
    ids=["1.0s-answered", "2.3s-deferred-public", "3.5s-deferred-private"],
)
async def test_a_slow_answer_is_acknowledged_within_discords_3_seconds_and_still_arrives(
    scripted: tuple[Couple, Scripted],
    takes: float,
    command: str,
    options: dict[str, str],
    seen: str,
) -> None:
    couple, tandem = scripted
    await couple.slash(ALICE, "start")
    tandem.delay = takes
    said = await couple.slash(ALICE, command, **options)  # the fake refuses a late one (10062)
    if seen == "public":
        assert said.public[0].startswith("✅ Daily prompt set for 20:30") and said.private == []
    else:
        assert said.public == [] and "Try a time like 20:30" in said.private[0]
    [interaction] = {p.interaction_id for p in said.posts if p.interaction_id is not None}
    acknowledged = couple.fake.acknowledged_as[interaction]
    assert acknowledged == ("reply" if takes < ACK_AFTER else "thinking")
    assert couple.fake.thinking() == []  # no "thinking…" left spinning


def test_what_people_wrote_cannot_turn_into_markdown() -> None:
    from adapters.discord_views import render

    forged = "📝 Alice: “# **Bob said** ||he wants out|| ~~fine~~ `code` __u__”"
    [piece] = render(Outgoing(Address("discord", "1"), forged))
    for mark in (
        "\\*\\*Bob said\\*\\*",
        "\\|\\|he wants out\\|\\|",
        "\\~\\~fine\\~\\~",
        "\\`code\\`",
    ):
        assert mark in piece.content, mark
    assert (
        "https://findahelpline.com"
        in render(Outgoing(Address("discord", "1"), "See https://findahelpline.com"))[0].content
    )  # links stay links
