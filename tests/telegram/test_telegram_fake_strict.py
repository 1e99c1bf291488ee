"""The fake Bot API is as strict as Telegram: each limit, just under (taken) and just over
(refused, with Telegram's status and words). The other Telegram tests rely on it: anything of
Tandem's that Telegram would refuse, the fake refuses too (and tests/telegram/conftest.py fails
any test in which that happens)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.telegram.fake_api import GROUP, TOKEN, FakeBotApi, User, private_chat

pytestmark = pytest.mark.over_telegram_limits("these tests send over each limit on purpose")

CARA = User(333, "Cara")  # never wrote to the bot
PLANT = "🌱"  # outside the BMP: 2 UTF-16 units, as Telegram counts it


async def call(
    api: FakeBotApi, method: str, files: dict[str, bytes] | None = None, **params: Any
) -> tuple[int, dict[str, Any]]:
    """One Bot API call as a client makes it: JSON, or multipart when it uploads a file."""
    url = f"{api.base_url}{TOKEN}/{method}"
    async with aiohttp.ClientSession() as session:
        if files:
            form = aiohttp.FormData()
            for key, value in params.items():
                form.add_field(key, value if isinstance(value, str) else json.dumps(value))
            for key, data in files.items():
                form.add_field(key, data, filename=f"{key}.bin")
            async with session.post(url, data=form) as response:
                return response.status, await response.json()
        async with session.post(url, json=params) as response:
            return response.status, await response.json()


def keyboard(*data: str, per_row: int = 5) -> dict[str, Any]:
    buttons = [{"text": str(n), "callback_data": d} for n, d in enumerate(data)]
    return {"inline_keyboard": [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]}


def refused(code: int, description: str) -> tuple[int, dict[str, Any]]:
    return code, {"ok": False, "error_code": code, "description": description}


TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
PICTURE = {"photo": b"\x89PNG fake"}
FILE = {"document": b"{}"}

# (method, files, the name of the limited parameter, just under, just over, Telegram's words)
LIMITS = {
    "text: 4,096": ("sendMessage", None, "text", "x" * 4096, "x" * 4097, TOO_LONG),
    # 2,049 characters, but 4,097 UTF-16 units: Telegram counts the units.
    "text: 4,096 UTF-16 units": (
        "sendMessage",
        None,
        "text",
        PLANT * 2048,
        PLANT * 2048 + "x",
        TOO_LONG,
    ),
    "text: not empty": (
        "sendMessage",
        None,
        "text",
        ".",
        " \n ",
        "Bad Request: message text is empty",
    ),
    "document caption: 1,024": (
        "sendDocument",
        FILE,
        "caption",
        "x" * 1024,
        "x" * 1025,
        CAPTION_TOO_LONG,
    ),
    "photo caption: 1,024 UTF-16 units": (
        "sendPhoto",
        PICTURE,
        "caption",
        PLANT * 512,
        PLANT * 512 + "x",
        CAPTION_TOO_LONG,
    ),
    "callback_data: 64 bytes": (
        "sendMessage",
        None,
        "reply_markup",
        keyboard("a" * 64),
        keyboard("a" * 65),
        DATA_INVALID,
    ),
    # 33 characters, but 65 bytes of UTF-8: Telegram counts the bytes.
    "callback_data: 64 bytes of UTF-8": (
        "sendMessage",
        None,
        "reply_markup",
        keyboard("é" * 32),
        keyboard("é" * 32 + "a"),
        DATA_INVALID,
    ),
    "callback_data: at least 1 byte": (
        "sendMessage",
        None,
        "reply_markup",
        keyboard("a"),
        keyboard(""),
        DATA_INVALID,
    ),
    "inline keyboard: 100 buttons": (
        "sendMessage",
        None,
        "reply_markup",
        keyboard(*(f"b{n}" for n in range(100))),
        keyboard(*(f"b{n}" for n in range(101))),
        "Bad Request: REPLY_MARKUP_TOO_LONG",
    ),
    "callback notice: 200": (
        "answerCallbackQuery",
        None,
        "text",
        "x" * 200,
        "x" * 201,
        "Bad Request: MESSAGE_TOO_LONG",
    ),
    "callback notice: 200 UTF-16 units": (
        "answerCallbackQuery",
        None,
        "text",
        PLANT * 100,
        PLANT * 100 + "x",
        "Bad Request: MESSAGE_TOO_LONG",
    ),
    "webhook secret: 256": (
        "setWebhook",
        None,
        "secret_token",
        "A" * 256,
        "A" * 257,
        "Bad Request: secret token is too long",
    ),
    "webhook secret: A-Z a-z 0-9 _ -": (
        "setWebhook",
        None,
        "secret_token",
        "AZaz09_-",
        "AZaz09_-+",
        "Bad Request: secret token contains unallowed characters",
    ),
}


def base(method: str) -> dict[str, Any]:
    """The other parameters each method needs."""
    if method == "answerCallbackQuery":
        return {"callback_query_id": "q1"}
    if method == "setWebhook":
        return {"url": "https://tandem.example.org/telegram"}
    return (
        {"chat_id": GROUP.id, "text": "Pick one"}
        if method == "sendMessage"
        else {"chat_id": GROUP.id}
    )


@pytest.mark.parametrize(
    ("method", "files", "name", "under", "over", "words"), LIMITS.values(), ids=LIMITS.keys()
)
async def test_just_under_a_limit_is_taken_and_just_over_is_refused_in_telegrams_words(
    api: FakeBotApi,
    method: str,
    files: dict[str, bytes] | None,
    name: str,
    under: Any,
    over: Any,
    words: str,
) -> None:
    taken = await call(api, method, files, **{**base(method), name: under})
    refusal = await call(api, method, files, **{**base(method), name: over})

    assert taken[0] == 200 and taken[1]["ok"] is True
    assert refusal == refused(400, words)
    assert [(c.error, c.refusal) for c in api.calls] == [(None, None), (400, words)]
    if method.startswith("send"):
        assert len(api.sent()) == 1  # the refused one was not delivered


@pytest.mark.parametrize("secret", ["a b", "a:b", "a+b/c=", "café", "a.b"])
async def test_a_webhook_secret_of_other_characters_is_refused(
    api: FakeBotApi, secret: str
) -> None:
    answer = await call(api, "setWebhook", url="https://tandem.example.org/t", secret_token=secret)

    assert answer == refused(400, "Bad Request: secret token contains unallowed characters")


async def test_a_webhook_without_a_secret_is_allowed(api: FakeBotApi) -> None:
    status, body = await call(api, "setWebhook", url="https://tandem.example.org/t")

    assert (status, body["ok"]) == (200, True)


CANNOT = "Forbidden: bot can't initiate conversation with a user"


async def test_a_person_who_never_pressed_start_cannot_be_written_to(api: FakeBotApi) -> None:
    to_cara = await call(api, "sendMessage", chat_id=CARA.id, text="Hi Cara")
    a_file = await call(api, "sendDocument", FILE, chat_id=str(CARA.id), caption="yours")
    to_group = await call(api, "sendMessage", chat_id=GROUP.id, text="Hi all")

    assert to_cara == refused(403, CANNOT)
    assert a_file == refused(403, CANNOT)
    assert to_group[0] == 200  # a group may be written to: the bot was added there


@pytest.mark.parametrize("how", ["wrote", "webhook", "started", "declared"])
async def test_once_they_write_or_press_start_they_can_be_written_to(
    api: FakeBotApi, how: str
) -> None:
    assert (await call(api, "sendMessage", chat_id=CARA.id, text="Hi"))[0] == 403
    if how == "wrote":
        api.say("/start", user=CARA, chat=private_chat(CARA))
    elif how == "webhook":  # an update made to post to a webhook counts the same
        api.message_update("hello", user=CARA, chat=private_chat(CARA))
    elif how == "started":  # Telegram's notice that the person opened the chat
        api.membership("left", "member", chat=private_chat(CARA), user=CARA)
    else:
        api.open_private(CARA)

    status, body = await call(api, "sendMessage", chat_id=CARA.id, text="Hi")

    assert (status, body["ok"]) == (200, True)


async def test_writing_in_a_group_does_not_open_a_private_chat(api: FakeBotApi) -> None:
    api.say("/start", user=CARA, chat=GROUP)

    assert await call(api, "sendMessage", chat_id=CARA.id, text="Hi") == refused(403, CANNOT)


async def test_a_person_who_blocks_the_bot_cannot_be_written_to_until_they_restart_it(
    api: FakeBotApi,
) -> None:
    api.say("/start", user=CARA, chat=private_chat(CARA))
    api.membership("member", "kicked", chat=private_chat(CARA), user=CARA)
    blocked = await call(api, "sendMessage", chat_id=CARA.id, text="Hi")
    api.membership("kicked", "member", chat=private_chat(CARA), user=CARA)
    back = await call(api, "sendMessage", chat_id=CARA.id, text="Hi")

    assert blocked == refused(403, "Forbidden: bot was blocked by the user")
    assert back[0] == 200


async def test_a_scripted_failure_still_comes_first(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", 500, "Internal Server Error")

    answer = await call(api, "sendMessage", chat_id=GROUP.id, text="x" * 5000)

    assert answer == refused(500, "Internal Server Error")
    assert api.over_limits() == []  # a scripted failure is not Telegram's limit
