"""What a couple sees on Telegram: welcome, every command, prompts on time, check-ins, notes, export."""

from __future__ import annotations

import json
from pathlib import Path

from bot.content import Library
from bot.messages import Address, Attachment, Button, Incoming, Outgoing, SendStatus
from bot.registry import REGISTRY
from tests.fakes import FixedClock
from tests.telegram.fake_api import ALICE, BOB, DM, GROUP, USERNAME, FakeBotApi, private_chat
from tests.telegram.harness import Running, start_app, until


async def test_being_added_to_a_group_says_welcome(bot: Running, library: Library) -> None:
    bot.api.membership("left", "member")

    [welcome] = await bot.api.replies(1)
    assert welcome.text == library.texts.welcome


async def test_opening_a_dm_with_start_says_welcome(bot: Running, library: Library) -> None:
    reply = await bot.say("/start", chat=DM)

    # a private chat's welcome, not the group's; then the set-up's question
    assert reply.text.startswith(library.texts.welcome_private.strip())


async def test_the_command_menu_lists_every_command_with_its_description(bot: Running) -> None:
    [menu] = bot.api.of("setMyCommands")

    listed = [(c["command"], c["description"]) for c in menu.params["commands"]]
    assert listed == [(c.name, c.description) for c in REGISTRY]


async def test_every_command_answers_and_a_mistake_gets_a_friendly_example(
    bot: Running, library: Library
) -> None:
    steps = [
        ("/start", library.texts.welcome[:40]),
        ("/help", "Tandem: one small step a day, together."),
        ("/timezone", "Timezone: UTC"),
        ("/timezone Mars/Olympus", "I don't know the timezone “Mars/Olympus”. Try a zone like"),
        ("/timezone Europe/Berlin", "Timezone set to Europe/Berlin"),
        ("/remind 25:99", "I couldn't read “25:99” as a time of day. Try a time like 20:30"),
        ("/schedule", "Daily prompt: 20:00 every day"),  # the default; the mistake saved nothing
        ("/remind 8pm", "Daily prompt set for 20:00 every day (Europe/Berlin time)"),
        ("/checkin 9xm", "I couldn't read “9xm” as a time of day."),
        ("/checkin 9pm", "Daily check-in set for 21:00 every day"),
        ("/schedule", "Daily prompt: 20:00 every day, next today at 20:00."),
        ("/tip", "🌱 Today's step"),
        ("/topics", "📚 Topics"),
        ("/topics astrology", "I don't know the topic “astrology”."),
        ("/topics gratitude, patience", "✅ Your topics: Gratitude, Patience."),
        ("/pause banana", "I couldn't read “banana” as a number of days"),
        ("/pause 3", "⏸ Paused for 3 days"),
        ("/resume", "▶️ Resumed: prompts and check-ins are back on."),
        ("/progress", "📈 Days you both showed up: 0"),
        ("/privacy", library.texts.privacy_short.strip()[:40]),
        ("/support", "I'll answer that in your private chat with me"),
        ("/dance", "I don't know /dance. /help lists what I can do"),
        ("/checkin", "💬 Check-in:"),
        ("/export", "📦 An export only goes where only you see it, never to a shared chat."),
        ("/forget", "⚠️ This erases this space"),
    ]
    for typed, expected in steps:
        bot.clock.advance(seconds=6)  # at a person's pace: flood protection never steps in
        reply = await bot.say(typed)
        assert expected in reply.text, f"after {typed!r} expected {expected!r} in {reply.text!r}"
    assert len(bot.api.sent(GROUP.id)) == len(steps)  # one answer each, nothing extra


async def test_a_mistake_is_answered_as_a_reply_to_the_member_who_made_it(bot: Running) -> None:
    mark = len(bot.api.calls)
    typed = bot.api.say("/remind 25:99", user=BOB)

    [reply] = await bot.api.replies(1, after=mark)
    assert reply.params["reply_parameters"]["message_id"] == typed


async def test_a_command_addressed_to_tandem_by_name_works_in_a_group(bot: Running) -> None:
    await bot.say("/start")
    reply = await bot.say(f"/remind@{USERNAME} 8pm")

    assert "Daily prompt set for 20:00" in reply.text


async def test_a_command_for_another_bot_is_left_alone(bot: Running) -> None:
    bot.api.say("/remind@SomeOtherBot 8pm")
    reply = await bot.say("/schedule")

    assert "Daily prompt: off" in reply.text
    assert len(bot.api.sent(GROUP.id)) == 1


async def test_the_prompt_arrives_once_at_the_chats_local_time(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/timezone Europe/Berlin")
    await bot.say("/remind 8pm")
    before = len(bot.api.sent(GROUP.id))

    bot.clock.set("2026-11-21T18:59:00+00:00")  # 19:59 in Berlin
    await bot.tandem.dispatch_due()
    assert len(bot.api.sent(GROUP.id)) == before

    bot.clock.set("2026-11-21T19:00:30+00:00")  # 20:00 in Berlin
    await bot.tandem.dispatch_due()
    await bot.tandem.dispatch_due()
    [prompt] = bot.api.sent(GROUP.id)[before:]
    assert prompt.text.startswith("🌱 Today's step")


async def test_a_check_in_answered_by_both_members_then_a_note(bot: Running) -> None:
    await bot.say("/start", user=ALICE)
    await bot.say("/start", user=BOB)
    checkin = await bot.say("/checkin")
    keyboard = checkin.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [
        ["1", "2", "3", "4", "5"],
        ["Skip today"],
        # Today's question (issue 21), for partners with no private chat.
        ["✍️ Answer"],
        ["Pass on this one"],
        ["Another question"],
        ["🔒 Answer privately"],
    ]
    message_id = checkin.result["message_id"]

    mark = len(bot.api.calls)
    alice = await bot.tap(message_id, checkin.actions[3], user=ALICE)
    assert alice.params["text"].startswith(
        "Thanks, Alice. Your check-in for Sat 21 Nov is saved: 4/5"
    )
    [nudge] = await bot.api.replies(1, after=mark)  # Alice's answer is only for Alice
    assert nudge.text.startswith("🌙 Alice has answered the check-in for Sat 21 Nov. Bob,")
    assert "4" not in nudge.text

    mark = len(bot.api.calls)
    bob = await bot.tap(message_id, checkin.actions[4], user=BOB)
    assert bob.params["text"].startswith("Thanks, Bob.")
    [both] = await bot.api.replies(1, after=mark)
    assert both.text.startswith(
        "💛 You've both checked in for Sat 21 Nov. Days you both showed up: 1"
    )

    note = await bot.say("Felt calmer after our walk", user=ALICE, reply_to=message_id)
    assert note.text.startswith("📝 Note saved with your check-in for Sat 21 Nov, Alice.")
    # Stored with her answer: her export (shown only to her, as a Discord slash command is) has it.
    export = await bot.tandem.handle(
        Incoming(
            Address("telegram", str(GROUP.id)), str(ALICE.id), "Alice", "/export", whisper=True
        )
    )
    assert [m.attachment.filename[-4:] for m in export if m.attachment] == [".txt", "json"]
    for sent in export:
        assert sent.attachment is not None
        assert "Felt calmer after our walk" in sent.attachment.data.decode()


async def test_chatter_that_is_not_for_tandem_gets_no_answer(bot: Running) -> None:
    hello = bot.api.say("good morning love", user=ALICE)
    bot.api.say("morning!", user=BOB, reply_to=hello)
    reply = await bot.say("/schedule")

    assert bot.api.sent(GROUP.id) == [reply]


async def test_export_arrives_as_a_file_to_read_and_a_clean_json_in_a_private_chat(
    bot: Running,
) -> None:
    dm = private_chat(ALICE)
    await bot.say("/start", chat=dm)
    await bot.say("/remind 8pm", chat=dm)
    mark = len(bot.api.calls)
    bot.api.say("/export", user=ALICE, chat=dm)
    readable, export = await bot.api.replies(2, chat_id=dm.id, after=mark)

    for sent in (readable, export):
        assert sent.method == "sendDocument" and sent.params["protect_content"] in (True, "true")
    assert readable.params["caption"].startswith(
        "📦 Everything Tandem keeps about this space that you may see, with your own private notes"
    )
    text = readable.params["document"]
    assert text["filename"] == "tandem-2026-11-21.txt"
    body = text["data"].decode()
    assert "Daily prompt: 20:00 every day" in body and "Who: Alice (you)" in body
    document = export.params["document"]
    assert document["filename"] == "tandem-export-2026-11-21.json"
    data = json.loads(document["data"])
    assert "chat_id" not in data["space"] and "id" not in data["space"]  # the bot's, not hers
    [prompt] = [s for s in data["schedules"] if s["kind"] == "prompt"]
    assert prompt["local_time"] == "20:00"


async def test_export_typed_in_a_group_is_never_posted_there(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    reply = await bot.say("/export")

    assert reply.method == "sendMessage" and "/pair" in reply.params["text"]
    assert bot.api.of("sendDocument") == []


async def test_forget_asks_first_and_then_erases(bot: Running) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    question = await bot.say("/forget")
    no, yes = question.actions[1], question.actions[0]

    kept = await bot.tap(question.result["message_id"], no)
    assert kept.params["text"] == "Kept as it was. Nothing was erased."
    assert await bot.space() is not None

    mark = len(bot.api.calls)
    await bot.tap(question.result["message_id"], yes)
    [done] = await bot.api.replies(1, after=mark)
    assert done.text.startswith("🧹 Done.")
    assert await bot.space() is None


async def test_a_long_message_is_split_on_line_breaks_with_buttons_on_the_last_part(
    bot: Running,
) -> None:
    lines = [f"{n:03d} " + "a calm and kind sentence, " * 3 for n in range(120)]
    text = "\n".join(lines)
    assert len(text) > 2 * 4096
    buttons = (Button("1", "a:1:1"), Button("2", "a:1:2"))

    result = await bot.adapter.send(Outgoing(Address("telegram", str(GROUP.id)), text, buttons))

    parts = bot.api.sent(GROUP.id)
    assert len(parts) == 3
    assert all(len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == text  # cut between lines, nothing lost
    assert [bool(p.actions) for p in parts] == [False, False, True]
    assert result.status is SendStatus.DELIVERED
    assert result.message_id == str(parts[-1].result["message_id"])


async def test_a_file_with_more_words_than_a_caption_holds_sends_the_words_first(
    bot: Running,
) -> None:
    text = "Here is everything. " * 100  # about 2,000 characters; a caption holds 1,024
    export = Attachment("export.json", b'{"ok": true}')

    await bot.adapter.send(Outgoing(Address("telegram", str(GROUP.id)), text, attachment=export))

    words, file = bot.api.sent(GROUP.id)
    assert (words.method, file.method) == ("sendMessage", "sendDocument")
    assert words.text == text
    assert file.params["document"]["data"] == b'{"ok": true}'


async def test_settings_survive_a_restart(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> None:
    first = await start_app(api, db, library, clock)
    await first.say("/start")
    await first.say("/timezone Europe/Berlin")
    await first.say("/remind 8pm weekdays")
    await first.stop()

    second = await start_app(api, db, library, clock)
    try:
        reply = await second.say("/schedule")
    finally:
        await second.stop()
    assert "Europe/Berlin" in reply.text
    assert "Daily prompt: 20:00" in reply.text
    # The first run confirmed what it had fetched: nothing was answered twice after the restart.
    assert len(api.sent(GROUP.id)) == 4


async def test_removed_from_the_group_and_added_back(bot: Running, library: Library) -> None:
    await bot.say("/start")
    await bot.say("/remind 8pm")
    bot.api.membership("member", "left")
    await until(bot.is_off)

    bot.clock.set("2026-11-21T20:00:30+00:00")
    await bot.tandem.dispatch_due()
    assert len(bot.api.sent(GROUP.id)) == 2  # only the answers to /start and /remind

    mark = len(bot.api.calls)
    bot.api.membership("left", "member")
    [welcome] = await bot.api.replies(1, after=mark)
    assert welcome.text == library.texts.welcome
    bot.clock.set("2026-11-22T20:00:30+00:00")
    await bot.tandem.dispatch_due()
    assert bot.api.sent(GROUP.id)[-1].text.startswith("🌱 Today's step")
