"""/settings on Discord: a tap edits the menu message in place (an UPDATE_MESSAGE response, no
new message), and a choice among many (days, topics) is a select menu whose choice applies."""

from __future__ import annotations

from bot.content import TOPICS
from tests.discord.discord_fakes import ALICE, FakeDiscord, Post, selects_of
from tests.discord.harness import Couple


async def test_settings_edits_in_place_and_offers_a_select_menu(
    couple: Couple, fake: FakeDiscord
) -> None:
    await couple.slash(ALICE, "start")
    shown = await couple.slash(ALICE, "settings")
    [menu] = [p for p in shown.posts if p.shown]
    assert menu.content.startswith("⚙️ Your settings")

    page = await couple.tap(ALICE, menu, "🕗 Time and days")
    assert page.public == [] and page.private == []  # no new message: the menu changed
    [update] = [p for p in page.posts if p.kind == "update"]
    assert update.message_id == menu.message_id
    assert menu.content.startswith("🕗 Daily prompt: off")  # the same message, edited
    [days] = selects_of(menu)
    assert [o["label"] for o in days["options"]] == ["Every day", "Weekdays", "Weekends"]

    morning = await couple.tap(ALICE, menu, "Morning 8:00")
    assert [p.kind for p in morning.posts] == ["update"]
    assert "Set: the daily prompt at 08:00 and the check-in at 08:30" in menu.content

    chosen = await couple.run(fake.choose(ALICE, menu, "Weekends"))
    assert [p.kind for p in chosen.posts] == ["update"]
    assert "Days: weekends" in menu.content

    schedule = await couple.slash(ALICE, "schedule")
    [text] = schedule.public
    assert "Daily prompt: 08:00 on weekends" in text
    assert "Daily check-in: 08:30 on weekends" in text


async def test_topics_are_a_select_menu_and_a_choice_toggles_one(
    couple: Couple, fake: FakeDiscord
) -> None:
    await couple.slash(ALICE, "start")
    shown = await couple.slash(ALICE, "settings")
    menu: Post = next(p for p in shown.posts if p.shown)
    await couple.tap(ALICE, menu, "📚 Topics")
    menus = selects_of(menu)  # Discord takes 25 options a menu: the topics fill two
    options = [o for m in menus for o in m["options"]]
    assert len(options) == len(TOPICS) and options[0]["label"] == "✓ Active listening"
    assert all(len(m["options"]) <= 25 for m in menus)

    await couple.run(fake.choose(ALICE, menu, "✓ Gratitude"))
    assert "✅ Your topics:" in menu.content and "Gratitude" not in menu.content.split("\n")[0]
    labels = [o["label"] for m in selects_of(menu) for o in m["options"]]
    assert "Gratitude" in labels and "✓ Gratitude" not in labels  # no tick now: dropped
