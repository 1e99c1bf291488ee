"""Telegram's failures, each mapped to what the core does about it: wait, retry, move, or let go."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from telegram.error import InvalidToken

from bot.content import Library
from bot.messages import Address, Attachment, Outgoing, SendStatus
from tests.fakes import FixedClock
from tests.telegram.fake_api import (
    ALICE,
    BOB,
    DM,
    GROUP,
    SECRET_PART,
    TOKEN,
    Call,
    Chat,
    FakeBotApi,
)
from tests.telegram.harness import Running, settings_for, start_app, until

# PTB's own RetryAfter() warns that retry_after will become a timedelta; nothing to act on here.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

DUE = "2026-11-21T20:00:30+00:00"  # just after 20:00 UTC, when "/remind 8pm" comes due
NEXT_DAY = "2026-11-22T20:00:30+00:00"
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def to(chat: Chat) -> Address:
    return Address("telegram", str(chat.id))


async def test_a_429_is_waited_out_and_the_prompt_still_arrives(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    bot.api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", chat_id=GROUP.id, retry_after=1
    )

    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()

    assert report.sent == 1
    [refused] = bot.api.of("sendMessage", chat_id=GROUP.id, ok=False)
    delivered = bot.api.sent(GROUP.id)[-1]
    assert refused.error == 429
    assert delivered.text.startswith("🌱 Today's step")
    assert delivered.at - refused.at >= 1.0


async def test_a_long_flood_wait_goes_back_to_the_core_without_a_retry_storm(bot: Running) -> None:
    bot.api.open_private(ALICE)
    bot.api.fail_next("sendMessage", 429, "Too Many Requests: retry after 600", retry_after=600)

    first = await bot.adapter.send(Outgoing(to(GROUP), "hello"))
    second = await bot.adapter.send(Outgoing(to(GROUP), "hello"))
    other = await bot.adapter.send(Outgoing(to(DM), "hello"))

    assert first.status is SendStatus.RETRY and first.retry_after == 600
    assert second.status is SendStatus.RETRY and (second.retry_after or 0) > 590
    assert len(bot.api.of("sendMessage", ok=False)) == 1  # the second never reached Telegram
    assert bot.api.of("sendMessage", chat_id=GROUP.id) == []
    assert other.status is SendStatus.DELIVERED  # the wait was that group's, not every chat's


async def test_a_403_switches_the_chat_off_and_nothing_more_is_sent(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    bot.api.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")

    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()
    bot.clock.set(NEXT_DAY)
    later = await bot.tandem.dispatch_due()

    assert report.deactivated == 1 and later.sent == 0
    assert len(bot.api.of("sendMessage", chat_id=GROUP.id, ok=False)) == 1  # one attempt, ever
    assert len(bot.api.sent(GROUP.id)) == 2  # just the answers to /start and /remind
    assert await bot.is_off()


async def test_blocked_while_answering_a_command_switches_the_chat_off(bot: Running) -> None:
    await bot.say("/start", chat=DM)
    await bot.say("/remind 8pm", chat=DM)
    bot.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")

    bot.api.say("/schedule", chat=DM)
    await until(lambda: bot.is_off(DM))
    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()

    assert report.sent == 0
    assert len(bot.api.sent(DM.id)) == 2


async def test_a_migrated_group_moves_its_schedule_and_gets_the_prompt_once(bot: Running) -> None:
    old, new = Chat(-4001, "group"), Chat(-1009001)
    await bot.say("/start", chat=old)
    await bot.say("/remind 8pm", chat=old)
    bot.api.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        chat_id=old.id,
        migrate_to_chat_id=new.id,
    )

    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()

    assert report.moved == 1 and report.sent == 1
    [prompt] = bot.api.sent(new.id)
    assert prompt.text.startswith("🌱 Today's step")
    assert len(bot.api.of("sendMessage", chat_id=old.id, ok=False)) == 1
    schedule = await bot.say("/schedule", chat=new)
    assert "Daily prompt: 20:00 every day, next tomorrow at 20:00." in schedule.text
    assert await bot.space(old) is None


async def test_a_group_upgraded_to_a_supergroup_takes_its_schedule_along(bot: Running) -> None:
    old, new = Chat(-4002, "group"), Chat(-1009002)
    await bot.say("/start", chat=old)
    await bot.say("/remind 8pm", chat=old)

    bot.api.service(old, migrate_to_chat_id=new.id)  # Telegram's notice in the old group
    await until(lambda: _exists(bot, new))
    reply = await bot.say("/schedule", chat=new)

    assert "Daily prompt: 20:00" in reply.text
    assert await bot.space(old) is None


async def _exists(bot: Running, chat: Chat) -> bool:
    return await bot.space(chat) is not None


async def test_chat_not_found_switches_the_chat_off(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    bot.api.fail_next("sendMessage", 400, "Bad Request: chat not found")

    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()

    assert report.deactivated == 1
    assert await bot.is_off()


async def test_another_bad_request_fails_that_message_only(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    bot.api.fail_next(
        "sendMessage", 400, "Bad Request: not enough rights to send text messages to the chat"
    )

    bot.clock.set(DUE)
    report = await bot.tandem.dispatch_due()
    bot.clock.set(NEXT_DAY)
    later = await bot.tandem.dispatch_due()

    assert (report.failed, report.deactivated, report.retrying) == (1, 0, 0)
    assert len(bot.api.of("sendMessage", ok=False)) == 1  # not retried
    assert later.sent == 1  # the chat stays on


async def test_a_timeout_is_retried_later(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    bot = await start_app(api, db, library, clock, request_timeout=0.3)
    try:
        await bot.say("/start")
        await bot.say("/remind 8pm")
        api.stall_next("sendMessage", 1.0)
        bot.clock.set(DUE)
        report = await bot.tandem.dispatch_due()
    finally:
        await bot.stop()

    assert report.retrying == 1 and report.sent == 0


async def test_no_network_means_retry_later(bot: Running) -> None:
    bot.api.offline = True
    result = await bot.adapter.send(Outgoing(to(GROUP), "hello"))
    bot.api.offline = False

    assert result.status is SendStatus.RETRY
    assert result.reason == "NetworkError"


async def test_polling_survives_the_network_going_away_and_coming_back(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.offline = True
    await bot.api.wait_for(lambda: bot.api.dropped("getUpdates"))
    bot.api.offline = False

    reply = await bot.say("/schedule")

    assert "Your rhythm" in reply.text
    assert "polling failed with NetworkError; retrying" in caplog.text


async def test_a_too_old_button_tap_is_still_recorded(bot: Running) -> None:
    await bot.say("/start", user=ALICE)
    await bot.say("/start", user=BOB)
    checkin = await bot.say("/checkin")
    bot.api.fail_next("answerCallbackQuery", 400, TOO_OLD)

    mark = len(bot.api.calls)
    refused = await bot.tap(checkin.result["message_id"], checkin.actions[2], user=ALICE)
    assert refused.error == 400
    await bot.api.replies(1, after=mark)  # Bob's gentle nudge
    mark = len(bot.api.calls)
    await bot.tap(checkin.result["message_id"], checkin.actions[4], user=BOB)

    [both] = await bot.api.replies(1, after=mark)
    assert both.text.startswith("💛 You've both checked in")


async def test_malformed_updates_never_stop_the_bot(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot.api.push({"message": {"message_id": "x", "chat": 5, "text": "my secret note"}})
    bot.api.push({"callback_query": {"id": "1", "data": "a:1:1"}})
    command = [{"type": "bot_command", "offset": 0, "length": 5}]
    orphan = {"message_id": 9, "date": 1, "text": "/help", "entities": command}
    bot.api.push({"message": {**orphan, "from": ALICE.json()}})  # readable, but in no chat
    bot.api.push({"edited_message": {"message_id": 9, "date": 1, "chat": GROUP.json()}})
    bot.api.push({"poll": {"id": "p"}})

    reply = await bot.say("/schedule")

    assert "Your rhythm" in reply.text
    assert "skipped a malformed update" in caplog.text
    assert "skipped a malformed update (ValueError)" in caplog.text  # the message in no chat
    assert "my secret note" not in caplog.text


async def test_stopping_does_not_wait_for_the_long_poll_and_confirms_what_was_fetched(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    api.hold = 3600.0  # Telegram holds a long poll until something comes (here: an hour)
    bot = await start_app(api, db, library, clock, request_timeout=3.0, poll_timeout=3600.0)

    def held() -> list[Call]:
        return [c for c in api.of("getUpdates") if float(c.params.get("timeout", 0)) == 3600]

    [poll] = await api.wait_for(held)
    # Not a bound on speed: a stop that waited for the long poll would take an hour.
    async with asyncio.timeout(30):
        await bot.stop()

    assert poll.result is None and poll.error is None  # stop did not wait for its answer
    last = api.calls[-1]  # PTB's last getUpdates confirms the updates it fetched
    assert last.method == "getUpdates" and last.error is None
    assert float(last.params["timeout"]) == 0 and last.result == []


@pytest.mark.logs_errors("a refused token stops the start: that is worth an error, with a hint")
async def test_a_wrong_token_stops_the_start_with_a_hint(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = settings_for(api, db, telegram_bot_token="7000001:not-the-right-secret-at-all")

    with pytest.raises(InvalidToken):
        await start_app(api, db, library, clock, settings=wrong)

    assert "the bot token was refused; check TELEGRAM_BOT_TOKEN" in caplog.text
    assert "not-the-right-secret-at-all" not in caplog.text


async def test_the_token_and_message_texts_never_reach_the_logs(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # As bot.app.setup_logging does: the database driver logs SQL parameters, notes included.
    caplog.set_level(logging.WARNING, logger="aiosqlite")
    caplog.set_level(logging.DEBUG)  # last: it also sets the capturing handler's level
    bot = await start_app(api, db, library, clock)
    try:
        await bot.say("/start")
        await bot.say("/remind 8pm")
        checkin = await bot.say("/checkin")
        await bot.say("our private words", reply_to=checkin.result["message_id"])
        bot.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert (await bot.adapter.send(Outgoing(to(DM), "hi"))).status is SendStatus.GONE
        bot.api.offline = True
        await bot.adapter.send(Outgoing(to(DM), "hi"))
        await bot.api.wait_for(lambda: bot.api.dropped("getUpdates"))
        bot.api.offline = False
        await bot.say("/schedule")
    finally:
        await bot.stop()

    assert "HTTP Request: POST" in caplog.text  # httpx did log the request URLs...
    assert TOKEN not in caplog.text  # ...with the token blanked out
    assert SECRET_PART not in caplog.text
    assert "our private words" not in caplog.text
    assert all(SECRET_PART not in r.getMessage() for r in caplog.records)


async def test_a_retried_long_message_never_repeats_the_parts_already_delivered(
    bot: Running,
) -> None:
    text = "\n".join(["first " * 600, "second " * 585, "third"])  # three parts of <= 4096
    bot.api.fail_next("sendMessage", 500, "Internal Server Error", skip=1)  # the second part

    failed = await bot.adapter.send(Outgoing(to(GROUP), text))
    retried = await bot.adapter.send(Outgoing(to(GROUP), text, resume_at_part=failed.parts_sent))

    assert failed.status is SendStatus.RETRY and failed.parts_sent == 1
    assert retried.status is SendStatus.DELIVERED and retried.parts_sent == 3
    delivered = [c.text.split()[0] for c in bot.api.sent(GROUP.id)]
    assert delivered == ["first", "second", "third"]  # each once, in order


async def test_a_retried_export_sends_only_the_file_when_its_words_went_out(
    bot: Running,
) -> None:
    words = "x " * 800  # too long for a caption: the words go first, then the file
    export = Attachment("tandem-export.json", b"{}")
    bot.api.open_private(ALICE)
    bot.api.fail_next("sendDocument", 500, "Internal Server Error")

    failed = await bot.adapter.send(Outgoing(to(DM), words, attachment=export))
    retried = await bot.adapter.send(
        Outgoing(to(DM), words, attachment=export, resume_at_part=failed.parts_sent)
    )

    assert (failed.status, failed.parts_sent) == (SendStatus.RETRY, 1)
    assert (retried.status, retried.parts_sent) == (SendStatus.DELIVERED, 2)
    assert [c.method for c in bot.api.sent(DM.id)] == ["sendMessage", "sendDocument"]
