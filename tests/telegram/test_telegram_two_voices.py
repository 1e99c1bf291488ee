"""Two partners on Telegram: private chats linked by deep links, private check-ins revealed
together in the group, prompts for one side in private, and a third member who may only look."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import col, select

from bot.content import Library
from bot.store import Member
from tests.fakes import FixedClock
from tests.telegram.fake_api import GROUP, USERNAME, Call, FakeBotApi, User, private_chat
from tests.telegram.harness import Running, start_app, until

ALEX = User(301, "Alex")
SAM = User(302, "Sam")
ROBIN = User(303, "Robin")  # in the group, but not one of the couple
KIM = User(304, "Kim")  # not in the group at all
CHECKIN_DUE = "2026-11-21T21:00:30+00:00"  # just after "/checkin 9pm" (UTC)
NOT_A_PARTNER = "Only this space's two partners can do that."


def dm(user: User) -> int:
    return private_chat(user).id


@pytest.fixture
async def bot(
    api: FakeBotApi, db: Path, library: Library, clock: FixedClock
) -> AsyncIterator[Running]:
    api.members |= {(GROUP.id, ALEX.id), (GROUP.id, SAM.id), (GROUP.id, ROBIN.id)}
    running = await start_app(api, db, library, clock)
    yield running
    await running.stop()


def start_code(button_url: str) -> str:
    """The payload of a t.me/<bot>?start=<code> deep link, checking it is one."""
    parts = urlsplit(button_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", f"/{USERNAME}")
    [code] = parse_qs(parts.query)["start"]
    return code


async def pair(bot: Running, user: User) -> Call:
    """/pair in the group, then open the link: Telegram sends "/start <code>" privately."""
    offer = await bot.say("/pair", user=user)
    [url] = offer.urls
    return await bot.say(f"/start {start_code(url)}", user=user, chat=private_chat(user))


async def couple(bot: Running) -> None:
    """Alex and Sam start Tandem in their group and each link a private chat."""
    for user in (ALEX, SAM):
        await bot.say("/start", user=user)
    for user in (ALEX, SAM):
        linked = await pair(bot, user)
        assert linked.text.startswith("🔒 Linked.")


async def private_chats(bot: Running) -> dict[str, str | None]:
    async with bot.tandem.store.unit() as session:
        found = await session.exec(select(Member).order_by(col(Member.id)))
        return {m.display_name: m.private_chat for m in found.all() if m.partner}


def messages(calls: list[Call], chat_id: int) -> list[Call]:
    return [c for c in calls if c.method.startswith("send") and c.chat_id == chat_id]


async def test_each_partner_opens_a_deep_link_and_their_private_chat_is_linked(
    bot: Running,
) -> None:
    await bot.say("/start", user=ALEX)
    await bot.say("/start", user=SAM)

    offer = await bot.say("/pair", user=ALEX)
    [url] = offer.urls
    code = start_code(url)
    assert len(code) >= 22  # at least 128 random bits, URL-safe
    assert str(ALEX.id) not in code and str(abs(GROUP.id)) not in code
    linked = await bot.say(f"/start {code}", user=ALEX, chat=private_chat(ALEX))
    assert linked.text.startswith("🔒 Linked. This is your private chat with Tandem")
    [asked] = bot.api.of("getChatMember")
    assert (asked.chat_id, asked.params["user_id"]) == (GROUP.id, ALEX.id)

    assert (await pair(bot, SAM)).text.startswith("🔒 Linked.")
    assert await private_chats(bot) == {"Alex": str(dm(ALEX)), "Sam": str(dm(SAM))}


async def test_someone_outside_the_group_cannot_use_its_link(bot: Running) -> None:
    await bot.say("/start", user=ALEX)
    offer = await bot.say("/pair", user=ALEX)

    refused = await bot.say(f"/start {start_code(offer.urls[0])}", user=KIM, chat=private_chat(KIM))

    assert refused.text.startswith("I couldn't confirm that you're in the group")
    [asked] = bot.api.of("getChatMember")
    assert (asked.chat_id, asked.params["user_id"]) == (GROUP.id, KIM.id)
    assert await private_chats(bot) == {"Alex": None}


async def test_private_check_ins_are_revealed_together_in_the_group(bot: Running) -> None:
    await couple(bot)
    await bot.say("/checkin 9pm", user=ALEX)

    # The check-in comes due: each partner gets it privately, the group nothing (issue 21).
    bot.clock.set(CHECKIN_DUE)
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    due = bot.api.calls[mark:]
    [alex_checkin] = messages(due, dm(ALEX))
    [sam_checkin] = messages(due, dm(SAM))
    assert messages(due, GROUP.id) == []
    for checkin in (alex_checkin, sam_checkin):
        assert checkin.text.startswith("💬 Your check-in for Sat 21 Nov:")
        assert checkin.protected
        # 1 to 5, "Skip today", and today's question's Answer, Pass and Another (issue 21)
        assert len(checkin.actions) == 9

    # Alex answers 4 and writes a note, chooses to share it at the reveal...
    mark = len(bot.api.calls)
    alex_tap = await bot.tap(alex_checkin.result["message_id"], alex_checkin.actions[3], user=ALEX)
    assert alex_tap.params["text"] == (
        "Thanks, Alex. Your check-in for Sat 21 Nov is saved: 4/5. "
        "You'll both see the answers when Sam has answered."
    )
    [nudge] = await bot.api.replies(1, chat_id=dm(SAM), after=mark)
    assert nudge.text.startswith("🌙 Alex has answered the check-in for Sat 21 Nov. Sam,")
    saved = await bot.say(
        "I felt heard tonight",
        user=ALEX,
        chat=private_chat(ALEX),
        reply_to=alex_checkin.result["message_id"],
    )
    assert saved.text.startswith("📝 Note saved with your check-in for Sat 21 Nov, Alex.")
    assert [b["text"] for b in saved.buttons] == ["Keep private", "Share at the reveal"]
    share = saved.actions[1]
    shared = await bot.tap(saved.result["message_id"], share, user=ALEX)
    assert shared.params["text"].startswith("👍 Your note will be shown with the answers")

    # ...and nothing of either reaches the group or Sam: only the nudge went anywhere but Alex.
    mine = {alex_tap.params["callback_query_id"], shared.params["callback_query_id"]}
    before_sam = bot.api.calls[mark:]
    for call in before_sam:
        if call.chat_id == dm(ALEX) or call.params.get("callback_query_id") in mine:
            continue
        said = json.dumps(call.params, ensure_ascii=False, default=str)
        assert "4/5" not in said and "heard tonight" not in said, call
    assert [c.method for c in before_sam if c.chat_id in (GROUP.id, dm(SAM))] == ["sendMessage"]

    # Sam answers 2: the group gets both scores (and Alex's shared note), protected.
    mark = len(bot.api.calls)
    sam_tap = await bot.tap(sam_checkin.result["message_id"], sam_checkin.actions[1], user=SAM)
    assert sam_tap.params["text"].startswith("Thanks, Sam. Your check-in for Sat 21 Nov is saved:")
    [reveal] = await bot.api.replies(1, chat_id=GROUP.id, after=mark)
    assert reveal.text.startswith("💛 You've both checked in for Sat 21 Nov.")
    assert "Alex 4/5 · Sam 2/5" in reveal.text
    assert "📝 Alex: “I felt heard tonight”" in reveal.text
    assert reveal.protected


async def test_export_in_the_group_goes_to_the_askers_private_chat_protected(
    bot: Running,
) -> None:
    await couple(bot)
    mark = len(bot.api.calls)

    pointer = await bot.say("/export", user=ALEX)
    exports = await bot.api.replies(2, chat_id=dm(ALEX), after=mark)

    assert pointer.text == "📦 Sent to your private chat with me."
    assert all(e.method == "sendDocument" and e.protected for e in exports)
    assert messages(bot.api.calls[mark:], dm(SAM)) == []


async def test_a_third_member_cannot_change_the_schedule_or_erase_anything(
    bot: Running,
) -> None:
    await bot.say("/start", user=ALEX)
    await bot.say("/start", user=SAM)
    await bot.say("/checkin 9pm", user=ALEX)
    question = await bot.say("/forget", user=ALEX)
    erase = question.actions[0]

    remind = await bot.say("/remind 8pm", user=ROBIN)
    forget = await bot.say("/forget", user=ROBIN)
    tapped = await bot.tap(question.result["message_id"], erase, user=ROBIN)

    assert remind.text.startswith(NOT_A_PARTNER)
    assert forget.text.startswith(NOT_A_PARTNER)
    assert (
        tapped.params["text"] == "Only the person who asked can confirm this. Nothing was erased."
    )
    schedule = await bot.say("/schedule", user=ROBIN)  # looking is for anyone
    assert "Daily prompt: off" in schedule.text
    assert "Daily check-in: 21:00 every day" in schedule.text
    space = await bot.space()
    assert space is not None and space.active
    assert await private_chats(bot) == {"Alex": None, "Sam": None}


async def test_a_doubted_prompt_reaches_only_the_private_chat_of_that_side(
    bot: Running, library: Library
) -> None:
    await couple(bot)
    await bot.say("/remind 8pm", user=ALEX)
    sides = await bot.say("/perspective", user=SAM, chat=private_chat(SAM))
    assert sides.actions == ["s:doubting", "s:doubted", "s:none"]
    chosen = await bot.tap(sides.result["message_id"], "s:doubted", user=SAM)
    assert chosen.params["text"].startswith("Saved: “I'm working to earn trust back”.")

    mark = len(bot.api.calls)
    for day in range(21, 25):  # side prompts come every other day
        bot.clock.set(f"2026-11-{day}T20:00:30+00:00")
        await bot.tandem.dispatch_due()
    sent = bot.api.calls[mark:]

    side_prompts = messages(sent, dm(SAM))
    assert len(side_prompts) == 2
    for prompt in side_prompts:
        assert prompt.text.startswith("🌱 Just for you today")
        assert prompt.protected
        assert audience_of(prompt, library) == "doubted"
    group = messages(sent, GROUP.id)
    assert len(group) == 4  # the couple's prompt, once a day
    assert all(audience_of(p, library) == "both" for p in group)
    assert messages(sent, dm(ALEX)) == []  # no side chosen: nothing private


def audience_of(call: Call, library: Library) -> str:
    """Whom the prompt in a message was written for (both, doubting or doubted)."""
    body = call.text.split("\n\n", 1)[1]
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    [prompt] = [p for p in library.by_id.values() if any(p.render(day) == body for day in days)]
    return prompt.audience


async def test_two_private_chats_become_one_couple_with_an_invitation_that_works_once(
    bot: Running, library: Library
) -> None:
    welcome = await bot.say("/start", user=ALEX, chat=private_chat(ALEX))
    assert welcome.text.startswith(library.texts.welcome_private.strip())  # then the set-up
    invitation = await bot.say("/pair", user=ALEX, chat=private_chat(ALEX))
    assert invitation.text.startswith("💌 Forward this message to your partner.")
    [url] = invitation.urls
    code = start_code(url)

    mark = len(bot.api.calls)
    joined = await bot.say(f"/start {code}", user=SAM, chat=private_chat(SAM))
    assert joined.text.startswith("🔒 Linked.")
    [told] = await bot.api.replies(1, chat_id=dm(ALEX), after=mark)
    assert told.text.startswith("💛 Sam joined you.")
    assert bot.api.of("getChatMember") == []  # no group to be a member of

    await bot.say("/remind 8pm", user=ALEX, chat=private_chat(ALEX))
    bot.clock.set("2026-11-21T20:00:30+00:00")
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    sent = bot.api.calls[mark:]
    [to_alex] = messages(sent, dm(ALEX))
    [to_sam] = messages(sent, dm(SAM))
    assert to_alex.text.startswith("🌱 Today's step") and to_sam.text == to_alex.text

    again = await bot.say(f"/start {code}", user=KIM, chat=private_chat(KIM))
    assert again.text.startswith("That link has expired or was already used.")
    assert await private_chats(bot) == {"Alex": str(dm(ALEX)), "Sam": str(dm(SAM))}


async def test_a_partner_who_blocks_tandem_is_unlinked_and_the_couple_goes_on(
    bot: Running,
) -> None:
    await couple(bot)
    await bot.say("/checkin 9pm", user=ALEX)
    bot.clock.set(CHECKIN_DUE)
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    [alex_checkin] = messages(bot.api.calls[mark:], dm(ALEX))

    # Sam blocked Tandem: the nudge to Sam's private chat is refused.
    bot.api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=dm(SAM))
    await bot.tap(alex_checkin.result["message_id"], alex_checkin.actions[3], user=ALEX)

    async def sam_unlinked() -> bool:
        return (await private_chats(bot))["Sam"] is None

    await until(sam_unlinked)
    space = await bot.space()
    assert space is not None and space.active
    assert (await private_chats(bot))["Alex"] == str(dm(ALEX))


async def test_blocking_tandem_in_a_private_chat_unlinks_only_that_partner(
    bot: Running,
) -> None:
    await couple(bot)

    bot.api.membership("member", "kicked", chat=private_chat(SAM), user=SAM)

    async def sam_unlinked() -> bool:
        return (await private_chats(bot))["Sam"] is None

    await until(sam_unlinked)
    space = await bot.space()
    assert space is not None and space.active
    assert (await private_chats(bot))["Alex"] == str(dm(ALEX))


async def test_opening_the_link_the_very_first_time_links_once(
    bot: Running, library: Library
) -> None:
    await bot.say("/start", user=SAM)
    offer = await bot.say("/pair", user=SAM)
    code = start_code(offer.urls[0])

    # A first visit: Telegram reports the new private chat, then sends "/start <code>" there.
    mark = len(bot.api.calls)
    bot.api.membership("left", "member", chat=private_chat(SAM), user=SAM)
    bot.api.say(f"/start {code}", user=SAM, chat=private_chat(SAM))
    [linked] = await bot.api.replies(1, chat_id=dm(SAM), after=mark)

    assert linked.text.startswith("🔒 Linked.")  # one message: no welcome before the link
    assert library.texts.welcome not in [c.text for c in bot.api.calls[mark:]]
    assert await private_chats(bot) == {"Sam": str(dm(SAM))}
    assert await bot.space(private_chat(SAM)) is None  # no second space left behind


async def test_tapping_answer_privately_in_the_group_opens_the_private_chat_in_one_tap(
    bot: Running,
) -> None:
    await bot.say("/start", user=ALEX)
    await bot.say("/start", user=SAM)
    checkin = await bot.say("/checkin", user=ALEX)
    assert checkin.actions[-1] == "p"
    mark = len(bot.api.calls)

    answer = await bot.tap(checkin.result["message_id"], "p", user=SAM)

    assert start_code(answer.params.get("url", "")) != ""
    assert messages(bot.api.calls[mark:], GROUP.id) == []


async def test_without_a_group_the_partner_who_blocks_is_unlinked_and_the_other_goes_on(
    bot: Running,
) -> None:
    await bot.say("/start", user=ALEX, chat=private_chat(ALEX))
    invitation = await bot.say("/pair", user=ALEX, chat=private_chat(ALEX))
    code = start_code(invitation.urls[0])
    await bot.say(f"/start {code}", user=SAM, chat=private_chat(SAM))
    await bot.say("/remind 8pm", user=SAM, chat=private_chat(SAM))

    bot.api.membership("member", "kicked", chat=private_chat(ALEX), user=ALEX)

    async def alex_unlinked() -> bool:
        return (await private_chats(bot)).get("Alex") is None

    await until(alex_unlinked, within=2.0)
    bot.clock.set("2026-11-21T20:00:30+00:00")
    mark = len(bot.api.calls)
    await bot.tandem.dispatch_due()
    [prompt] = messages(bot.api.calls[mark:], dm(SAM))
    assert prompt.text.startswith("🌱 Today's step")
