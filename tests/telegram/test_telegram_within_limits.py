"""Tandem's own output stays within Telegram's limits, through the real adapter and the strict
fake Bot API: long texts are split, captions kept short, button data short, a tap's notice cut
to 200, Telegram's 429s waited out at most 3 times and 30 s each, and nobody written to first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from telegram.error import BadRequest

from adapters.telegram_limits import Limits
from adapters.telegram_render import utf16_len
from bot import actions
from bot.content import Library
from bot.messages import Address, Attachment, Button, Outgoing, SendStatus
from tests.fakes import FixedClock
from tests.telegram.fake_api import GROUP, Call, FakeBotApi, User, private_chat
from tests.telegram.harness import Running, settings_for, start_app
from tests.telegram.test_telegram_webhook import free_port

# PTB's own RetryAfter() warns that retry_after will become a timedelta; nothing to act on here.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PLANT, BLOSSOM = "🌱", "🌸"  # outside the BMP: 2 UTF-16 units each, as Telegram counts them
HOME = Address("telegram", str(GROUP.id))


def refusals(api: FakeBotApi) -> list[tuple[str, int | None]]:
    return [(c.method, c.error) for c in api.calls if c.error is not None]


# ---- Long texts ----------------------------------------------------------------------------


async def test_a_reveal_with_two_long_notes_is_split_into_parts_telegram_takes(
    bot: Running,
) -> None:
    """Each partner's note may hold 1,000 characters; in emoji that is 2,000 UTF-16 units, so
    the reveal quoting both is over Telegram's 4,096."""
    alex, sam = User(401, "Alex"), User(402, "Sam")
    notes = {alex: PLANT * 1000, sam: BLOSSOM * 1000}
    await bot.say("/start", user=alex)
    await bot.say("/start", user=sam)
    checkin = await bot.say("/checkin", user=alex)
    message_id = checkin.result["message_id"]
    for person, note in notes.items():
        saved = await bot.say(note, user=person, reply_to=message_id)
        assert saved.text.startswith("📝 Note saved")
    mark = len(bot.api.calls)
    await bot.tap(message_id, checkin.actions[3], user=alex)
    await bot.api.replies(1, after=mark)  # the nudge for Sam

    mark = len(bot.api.calls)
    await bot.tap(message_id, checkin.actions[4], user=sam)
    parts = await bot.api.replies(2, after=mark)

    assert parts[0].text.startswith("💛 You've both checked in")
    assert all(utf16_len(p.text) <= 4096 for p in parts)
    revealed = "\n".join(p.text for p in parts)
    assert f"📝 Alex: “{notes[alex]}”" in revealed  # each note whole, none cut or lost
    assert f"📝 Sam: “{notes[sam]}”" in revealed
    assert refusals(bot.api) == []


async def test_a_long_text_of_emoji_is_split_by_telegrams_count_and_nothing_is_lost(
    bot: Running,
) -> None:
    text = "\n".join([PLANT * 99] * 60)  # 2,999 characters, 11,939 UTF-16 units

    result = await bot.adapter.send(Outgoing(HOME, text))

    parts = bot.api.sent(GROUP.id)
    assert result.status is SendStatus.DELIVERED and result.parts_sent == len(parts) == 3
    assert "\n".join(p.text for p in parts) == text
    assert refusals(bot.api) == []


@pytest.mark.parametrize(
    ("words", "as_caption"),
    [(PLANT * 512, True), (PLANT * 512 + "!", False)],  # 1,024 UTF-16 units; 1,025
    ids=["1024 units: a caption", "1025 units: a message first"],
)
async def test_words_with_a_file_are_its_caption_only_when_telegram_takes_them_as_one(
    bot: Running, words: str, as_caption: bool
) -> None:
    export = Attachment("tandem-export.json", b"{}")

    result = await bot.adapter.send(Outgoing(HOME, words, attachment=export))

    sent = bot.api.sent(GROUP.id)
    assert result.status is SendStatus.DELIVERED
    if as_caption:
        assert [(c.method, c.params.get("caption")) for c in sent] == [("sendDocument", words)]
    else:
        assert [(c.method, c.text) for c in sent] == [("sendMessage", words), ("sendDocument", "")]
    assert refusals(bot.api) == []


# ---- Buttons ---------------------------------------------------------------------------------

BIG = 2**63 - 1  # the largest id a database row can have
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)  # the longest timestamp a forget carries


def every_action_at_its_longest() -> list[str]:
    promise = 10**18 - 1  # a promise's id is read back with at most 18 digits
    return [
        *(actions.answer(BIG, score) for score in (actions.SKIP, 1, 5)),
        actions.note(BIG),
        *(actions.share_note(BIG, share) for share in (True, False)),
        *(actions.side(side) for side in (*actions.SIDES,)),
        *(actions.forget(scope, BIG, LATEST) for scope in ("all", "me")),
        *(actions.kept(promise, answer) for answer in actions.PROMISE_ANSWERS.values()),
        *(actions.share_promise(promise, share) for share in (True, False)),
        actions.FORGET_NO,
        actions.PAIR,
    ]


async def test_every_button_tandem_makes_fits_telegram_even_with_the_largest_ids(
    bot: Running,
) -> None:
    made = every_action_at_its_longest()
    buttons = tuple(Button(f"b{n}", action) for n, action in enumerate(made))

    result = await bot.adapter.send(Outgoing(HOME, "Every kind of button", buttons))

    assert all(actions.parse(action) is not None for action in made)  # each still understood
    assert result.status is SendStatus.DELIVERED
    [sent] = bot.api.sent(GROUP.id)
    assert sent.actions == made
    assert refusals(bot.api) == []


OVER = "the adapter refuses a button Telegram would refuse, and says so as an error"


@pytest.mark.parametrize(
    ("action", "fits"),
    [
        ("a", True),
        ("a" * 64, True),
        ("é" * 32, True),  # 64 bytes
        pytest.param("a" * 65, False, marks=pytest.mark.logs_errors(OVER)),
        pytest.param("é" * 32 + "a", False, marks=pytest.mark.logs_errors(OVER)),  # 65 bytes
        pytest.param("", False, marks=pytest.mark.logs_errors(OVER)),
    ],
    ids=["1 byte", "64 bytes", "64 bytes of UTF-8", "65 bytes", "65 bytes of UTF-8", "empty"],
)
async def test_a_button_telegram_would_refuse_is_never_sent(
    bot: Running, action: str, fits: bool
) -> None:
    result = await bot.adapter.send(Outgoing(HOME, "Pick", (Button("1", action),)))

    if fits:
        assert result.status is SendStatus.DELIVERED
        assert [c.actions for c in bot.api.sent(GROUP.id)] == [[action]]
    else:
        assert (result.status, result.reason) == (SendStatus.FAILED, "button too long")
        assert bot.api.of("sendMessage") == bot.api.of("sendMessage", ok=False) == []


@pytest.mark.parametrize(
    ("count", "status"),
    [
        (100, SendStatus.DELIVERED),
        pytest.param(
            101,
            SendStatus.FAILED,
            marks=pytest.mark.over_telegram_limits("101 buttons, to see Telegram's refusal"),
        ),
    ],
)
async def test_a_keyboard_over_100_buttons_fails_once_and_is_not_retried(
    bot: Running, count: int, status: SendStatus
) -> None:
    buttons = tuple(Button(str(n), f"b{n}") for n in range(count))

    result = await bot.adapter.send(Outgoing(HOME, "Pick", buttons))

    assert result.status is status
    assert len(bot.api.of("sendMessage", ok=status is SendStatus.DELIVERED)) == 1


# ---- A tap's notice --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "Alexandrina Maria Rosalind Evangeline Beatrix Montgomery-Carter",
            "Maximilian Theodore Augustin Fitzgerald-Worthington",
        ),
        # 34 characters and 64 UTF-16 units each: the notice is under 200 characters, but
        # over 200 units.
        (BLOSSOM * 30 + " Ana", PLANT * 30 + " Ben"),
    ],
    ids=["long names", "emoji names"],
)
async def test_a_taps_notice_longer_than_200_reaches_telegram_cut_to_200(
    bot: Running, first: str, second: str
) -> None:
    one, other = User(501, first), User(502, second)
    await bot.say("/start", user=one)
    await bot.say("/start", user=other)
    checkin = await bot.say("/checkin", user=one)

    notice = await bot.tap(checkin.result["message_id"], checkin.actions[3], user=one)

    text = notice.params["text"]
    assert notice.error is None  # Telegram took it: the person sees their "Thanks"
    assert text.startswith(f"Thanks, {first}. Your check-in for")
    assert text.endswith("…") and 190 < utf16_len(text) <= 200  # cut, and only just


# ---- Telegram's 429s -------------------------------------------------------------------------


def flood(api: FakeBotApi, times: int, seconds: int) -> None:
    for _ in range(times):
        api.fail_next(
            "sendMessage", 429, f"Too Many Requests: retry after {seconds}", retry_after=seconds
        )


def gaps(calls: list[Call]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(calls)]


async def test_three_429s_are_waited_out_in_place_and_the_message_goes(bot: Running) -> None:
    flood(bot.api, 3, 1)

    result = await bot.adapter.send(Outgoing(HOME, "hello"))

    attempts = bot.api.of("sendMessage") + bot.api.of("sendMessage", ok=False)
    attempts.sort(key=lambda c: c.at)
    assert result.status is SendStatus.DELIVERED
    assert [c.error for c in attempts] == [429, 429, 429, None]
    assert all(gap >= 1.0 for gap in gaps(attempts))  # each retry_after was waited out


async def test_a_fourth_429_in_a_row_goes_back_to_the_core(bot: Running) -> None:
    flood(bot.api, 5, 1)

    result = await bot.adapter.send(Outgoing(HOME, "hello"))

    assert (result.status, result.retry_after) == (SendStatus.RETRY, 1)
    assert len(bot.api.of("sendMessage", ok=False)) == 4  # the first try and 3 retries
    assert bot.api.of("sendMessage") == []


async def test_a_wait_over_30_s_goes_back_to_the_core_at_once(bot: Running) -> None:
    flood(bot.api, 1, 31)

    result = await bot.adapter.send(Outgoing(HOME, "hello"))

    assert (result.status, result.retry_after) == (SendStatus.RETRY, 31)
    assert len(bot.api.of("sendMessage", ok=False)) == 1  # not asked again


async def test_a_wait_of_exactly_the_cap_is_waited_out(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    # The 30 s cap lowered to 1 s (the same comparison, without waiting 30 s).
    limits = Limits(overall=None, per_group=None, per_chat=None, max_wait=1.0)
    bot = await start_app(api, db, library, clock, limits=limits)
    try:
        flood(api, 1, 1)
        waited = await bot.adapter.send(Outgoing(HOME, "hello"))
        flood(api, 1, 2)
        returned = await bot.adapter.send(Outgoing(HOME, "again"))
    finally:
        await bot.stop()

    assert waited.status is SendStatus.DELIVERED
    assert (returned.status, returned.retry_after) == (SendStatus.RETRY, 2)
    assert [c.error for c in api.calls if c.method == "sendMessage"] == [429, None, 429]


def test_the_cap_is_3_retries_of_at_most_30_s_as_the_readme_says() -> None:
    limits = Limits()

    assert (limits.max_retries, limits.max_wait) == (3, 30.0)
    assert (Limits.off().max_retries, Limits.off().max_wait) == (3, 30.0)


# ---- Private chats ---------------------------------------------------------------------------


async def test_a_couple_in_a_group_is_never_written_to_in_private_unasked(bot: Running) -> None:
    """Telegram refuses a bot's first word in a private chat; Tandem never tries one: the nudge
    for a partner with no private chat goes to the group."""
    alex, sam = User(601, "Alex"), User(602, "Sam")
    await bot.say("/start", user=alex)
    await bot.say("/start", user=sam)
    checkin = await bot.say("/checkin", user=alex)
    mark = len(bot.api.calls)
    await bot.tap(checkin.result["message_id"], checkin.actions[2], user=alex)
    [nudge] = await bot.api.replies(1, after=mark)
    await bot.say("/perspective", user=sam)
    await bot.say("/export", user=sam)

    assert nudge.text.startswith("🌙 Alex has answered")
    assert refusals(bot.api) == []
    private = {private_chat(alex).id, private_chat(sam).id}
    assert [c for c in bot.api.calls if c.chat_id in private] == []


async def test_a_private_chat_nobody_started_is_gone_for_the_core(bot: Running) -> None:
    stranger = Address("telegram", "777")

    result = await bot.adapter.send(Outgoing(stranger, "hello"))

    assert (result.status, result.reason) == (SendStatus.GONE, "Forbidden")
    [refused] = bot.api.of("sendMessage", ok=False)
    assert refused.refusal == "Forbidden: bot can't initiate conversation with a user"


# ---- The webhook secret ----------------------------------------------------------------------


async def test_the_random_webhook_secret_is_one_telegram_takes(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    settings = settings_for(
        api,
        db,
        telegram_webhook_url="http://127.0.0.1:1/telegram",
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=free_port(),
    )
    bot = await start_app(api, db, library, clock, settings=settings)
    await bot.stop()

    [hook] = api.of("setWebhook")
    assert hook.error is None and len(hook.params["secret_token"]) >= 32


@pytest.mark.logs_errors("a refused webhook secret stops the start: worth an error, with a hint")
@pytest.mark.over_telegram_limits("a secret Telegram refuses, to see the start stop")
async def test_a_webhook_secret_telegram_refuses_stops_the_start_with_a_hint(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # The settings refuse such a secret first (tests/test_app.py); past them (a secret set in
    # code, as here), Telegram's refusal still stops the start with the same hint.
    settings = settings_for(
        api,
        db,
        telegram_webhook_url="http://127.0.0.1:1/telegram",
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=free_port(),
    )
    settings.telegram_webhook_secret = SecretStr("our secret: roses!")

    with pytest.raises(BadRequest):
        await start_app(api, db, library, clock, settings=settings)

    [hook] = api.of("setWebhook", ok=False)
    assert hook.refusal == "Bad Request: secret token contains unallowed characters"
    assert "TELEGRAM_WEBHOOK_SECRET takes 1-256 characters: A-Z a-z 0-9 _ -" in caplog.text
    assert "our secret: roses!" not in caplog.text
