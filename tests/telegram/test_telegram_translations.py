"""The adapter's pure translations: commands, long texts, keyboards, Telegram's errors, log redaction."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

import pytest
from telegram import ChatMember, User
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from adapters.telegram_adapter import command_line, is_present, is_private_chat, outcome
from adapters.telegram_connection import file_url, readable
from adapters.telegram_logs import RedactSecrets, token_secrets
from adapters.telegram_render import clip, keyboard, sendable, split_text, utf16_len
from bot.messages import Address, Button, SendStatus
from tests.telegram.fake_api import TOKEN

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.mark.parametrize(
    ("typed", "core_sees"),
    [
        ("/remind@TandemTestBot 8pm weekdays", "/remind 8pm weekdays"),
        ("/remind@tandemtestbot 8pm", "/remind 8pm"),
        ("/start", "/start"),
        ("/topics add\ngratitude", "/topics add\ngratitude"),
        ("/help@SomeOtherBot", None),
    ],
)
def test_commands_lose_the_bot_name_and_other_bots_commands_are_not_ours(
    typed: str, core_sees: str | None
) -> None:
    assert command_line(typed, "TandemTestBot") == core_sees


def test_a_short_text_is_one_part() -> None:
    assert split_text("Hello") == ["Hello"]
    assert split_text("x" * 4096) == ["x" * 4096]


def test_a_long_text_is_cut_at_line_breaks_and_nothing_is_lost() -> None:
    text = "\n".join(f"line {n}: " + "words " * 20 for n in range(100))

    parts = split_text(text)

    assert len(parts) == 4
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text


def test_emoji_count_double_as_telegram_counts_them() -> None:
    text = "💛" * 3000  # 6,000 UTF-16 units, though 3,000 characters

    parts = split_text(text)

    assert [utf16_len(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_lines_of_emoji_are_cut_at_line_breaks_too() -> None:
    # Each line is 99 emoji (198 units): the last break that fits is past half of the 4,096
    # units, though not past half of the characters (it was cut hard, mid-line).
    text = "\n".join(["💛" * 99] * 60)

    parts = split_text(text)

    assert [p.count("\n") for p in parts] == [19, 19, 19]  # 20 whole lines each
    assert "\n".join(parts) == text


@pytest.mark.parametrize(
    ("text", "clipped"),
    [
        ("x" * 200, "x" * 200),
        ("x" * 201, "x" * 199 + "…"),
        ("💛" * 100, "💛" * 100),  # 200 units
        ("💛" * 100 + "x", "💛" * 99 + "…"),  # 201 units: 199 and the "…"
        ("x" + "💛" * 100, "x" + "💛" * 99 + "…"),  # a pair is never split
    ],
)
def test_a_notice_is_clipped_to_200_utf16_units_with_an_ellipsis(text: str, clipped: str) -> None:
    assert clip(text, 200) == clipped
    assert utf16_len(clip(text, 200)) <= 200


def test_a_text_without_breaks_is_cut_hard_rather_than_rejected() -> None:
    parts = split_text("y" * 10_000)

    assert [len(p) for p in parts] == [4096, 4096, 1808]


def test_a_long_paragraph_is_cut_between_words() -> None:
    parts = split_text("word " * 2000)

    assert len(parts) == 3
    assert all(set(p.split()) == {"word"} for p in parts)  # no word broken in two


def test_check_in_scores_share_a_row_and_long_choices_get_their_own() -> None:
    scores = keyboard([Button(str(n), f"a:7:{n}") for n in range(1, 6)])
    forget = keyboard([Button("Yes, erase everything", "f:yes"), Button("Cancel", "f:no")])

    assert scores is not None and forget is not None
    assert [[b.callback_data for b in row] for row in scores.inline_keyboard] == [
        ["a:7:1", "a:7:2", "a:7:3", "a:7:4", "a:7:5"]
    ]
    assert [len(row) for row in forget.inline_keyboard] == [1, 1]
    assert keyboard([]) is None


def test_a_check_in_keeps_its_scores_in_a_row_above_its_longer_choices() -> None:
    buttons = [Button(str(n), f"a:7:{n}") for n in range(1, 6)]
    buttons += [Button("Skip today", "a:7:0"), Button("🔒 Answer privately", "p")]

    markup = keyboard(buttons)

    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["1", "2", "3", "4", "5"],
        ["Skip today"],
        ["🔒 Answer privately"],
    ]


def test_a_start_button_is_a_deep_link_into_the_bots_private_chat() -> None:
    markup = keyboard([Button("Open my private chat", start="Zm9v-YmFy_42")], "TandemTestBot")

    assert markup is not None
    [[button]] = markup.inline_keyboard
    assert button.url == "https://t.me/TandemTestBot?start=Zm9v-YmFy_42"
    assert button.callback_data is None


@pytest.mark.parametrize(
    ("button", "ok"),
    [
        (Button("4", "a:" + "9" * 60), True),  # 62 bytes
        (Button("4", "a:" + "9" * 63), False),  # 65 bytes: more than callback_data holds
        (Button("Open", start="x" * 64), True),
        (Button("Open", start="x" * 65), False),  # a start payload holds 64 characters
        (Button("Open", start="no spaces"), False),  # and only A-Z a-z 0-9 _ -
        (Button("Open", start=""), False),
        (Button("4", ""), False),  # callback_data holds at least 1 byte
    ],
)
def test_only_buttons_telegram_takes_are_sent(button: Button, ok: bool) -> None:
    assert sendable(button) is ok


def test_people_have_positive_chat_ids_and_groups_negative_ones() -> None:
    assert is_private_chat(Address("telegram", "111"))
    assert not is_private_chat(Address("telegram", "-1001234"))
    assert not is_private_chat(Address("telegram", "@ourchannel"))


PERSON = User(111, "Alice", False)


@pytest.mark.parametrize(
    ("status", "present"),
    [
        ("creator", True),
        ("administrator", True),
        ("member", True),
        ("restricted", False),  # without is_member: restricted and gone
        ("left", False),
        ("kicked", False),
    ],
)
def test_who_is_in_a_chat(status: str, present: bool) -> None:
    assert is_present(ChatMember(PERSON, status)) is present


def test_a_restricted_member_who_is_still_a_member_is_in_the_chat() -> None:
    # ChatMemberRestricted's required rights change with every Bot API version; is_present
    # reads only these two fields.
    restricted = SimpleNamespace(user=PERSON, status="restricted", is_member=True)

    assert is_present(cast(ChatMember, restricted))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), SendStatus.GONE),
        (Forbidden("Forbidden: user is deactivated"), SendStatus.GONE),
        (BadRequest("Bad Request: chat not found"), SendStatus.GONE),
        (BadRequest("Bad Request: message text is empty"), SendStatus.FAILED),
        (EndPointNotFound("Not Found"), SendStatus.FAILED),
        (TimedOut(), SendStatus.RETRY),
        (NetworkError("httpx.ConnectError"), SendStatus.RETRY),
        (InvalidToken(), SendStatus.RETRY),
        (Conflict("terminated by other getUpdates request"), SendStatus.RETRY),
        (TelegramError("Invalid server response"), SendStatus.RETRY),
    ],
)
def test_each_telegram_error_means_one_thing_to_the_core(
    error: TelegramError, status: SendStatus
) -> None:
    result = outcome(error)

    assert result.status is status
    assert result.reason.startswith(type(error).__name__)


def test_a_migrated_group_reports_its_new_address() -> None:
    result = outcome(ChatMigrated(-1009001))

    assert result.status is SendStatus.MOVED
    assert result.new_address == Address("telegram", "-1009001")


def test_a_flood_wait_carries_how_long_to_wait() -> None:
    result = outcome(RetryAfter(42))

    assert result.status is SendStatus.RETRY and result.retry_after == 42


def test_updates_ptb_cannot_read_shrink_to_their_id() -> None:
    good = {
        "update_id": 3,
        "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}},
    }

    assert readable(good) == good
    assert readable({"update_id": 4, "message": "hello"}) == {"update_id": 4}
    assert readable({"message": {}}) is None
    assert readable(["not", "an", "update"]) is None


def test_the_redactor_blanks_the_token_in_messages_arguments_and_tracebacks() -> None:
    redactor = RedactSecrets(*token_secrets(TOKEN))
    url = f"https://api.telegram.org/bot{TOKEN}/getMe"
    try:
        raise ConnectionError(url)
    except ConnectionError as err:
        record = logging.LogRecord(
            "httpx", logging.INFO, __file__, 1, "HTTP Request: %s", (url,), None
        )
        record.exc_info = (type(err), err, err.__traceback__)

    assert redactor.filter(record)

    text = logging.Formatter().format(record)
    assert TOKEN.partition(":")[2] not in text
    assert "bot7000001:[redacted]/getMe" in text


def test_files_come_from_the_same_server_as_the_api() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
