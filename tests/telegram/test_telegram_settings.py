"""/settings on Telegram: a tap changes the menu message in place (editMessageText), never a new
message; and the set-up's city, typed in a private chat, sets the zone."""

from __future__ import annotations

from bot.content import Library
from tests.telegram.fake_api import DM, GROUP
from tests.telegram.harness import Running


async def test_settings_edits_its_own_message_in_place(bot: Running) -> None:
    await bot.say("/start")
    menu = await bot.say("/settings")
    assert menu.text.startswith("⚙️ Your settings")
    menu_id = menu.result["message_id"]
    assert "se:reveal" in menu.actions

    mark = len(bot.api.calls)
    await bot.tap(menu_id, "se:reveal")
    [page] = await bot.api.wait_for(lambda: bot.api.of("editMessageText"))
    assert page.params["message_id"] == menu_id and page.params["chat_id"] == GROUP.id
    assert page.text.startswith("👀 Reveal: together")
    assert "se:reveal:instant" in page.actions

    await bot.tap(menu_id, "se:reveal:instant")
    edits = await bot.api.wait_for(lambda: bot.api.of("editMessageText")[1:])
    assert "set the reveal to instant" in edits[0].text
    assert edits[0].params["message_id"] == menu_id
    assert [c for c in bot.api.sent(GROUP.id) if bot.api.calls.index(c) >= mark] == []
    assert (await bot.space()) is not None and (await bot.space()).reveal == "instant"  # type: ignore[union-attr]


async def test_the_set_up_in_a_private_chat_reads_the_typed_city(
    bot: Running, library: Library
) -> None:
    first = await bot.say("/start", chat=DM)
    assert first.text.startswith(library.texts.welcome_private.strip())
    assert "which city are you in? Type it" in first.text
    zone = await bot.say("Lisbon", chat=DM)
    assert "Timezone set to Europe/Lisbon" in zone.text
    assert "su:2000" in zone.actions  # Evening 20:00, as a button


async def test_in_a_group_the_city_comes_as_a_reply_to_the_set_up(bot: Running) -> None:
    first = await bot.say("/start")
    assert "Reply to this message with it" in first.text
    zone = await bot.say("Berlin", reply_to=first.result["message_id"])
    assert "Timezone set to Europe/Berlin" in zone.text
    assert "su:0800" in zone.actions  # Morning 8:00
