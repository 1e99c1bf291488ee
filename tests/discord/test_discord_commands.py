"""Slash commands, autocomplete, check-in buttons and the note modal, fed to the client as Discord sends them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from adapters.discord_adapter import CANNOT_POST
from bot.command import NOT_A_PARTNER, Kind
from bot.content import Library
from bot.messages import Address, Incoming, Outgoing
from bot.registry import COMMANDS, REGISTRY
from bot.service import SORRY, Tandem
from bot.store import Store
from tests.discord.discord_fakes import (
    ALICE,
    APP_COMMANDS,
    BOB,
    DM,
    EVE,
    GUILD_ID,
    HOME,
    LOUNGE,
    MEMBER,
    MODERATOR,
    VIEW,
    FakeDiscord,
    Person,
    rows_of,
)
from tests.discord.harness import Couple, core, new_adapter
from tests.fakes import FixedClock


async def test_every_registry_command_and_option_is_synced_as_the_registry_says(
    couple: Couple, fake: FakeDiscord
) -> None:
    synced = {c["name"]: c for c in fake.synced[None]}
    assert list(synced) == [c.name for c in REGISTRY]
    assert all(c["contexts"] == [0, 1] for c in synced.values())  # server channels and DMs
    for command in REGISTRY:
        payload = synced[command.name]
        assert payload["description"] == command.description
        options = {o["name"]: o for o in payload.get("options", [])}
        assert set(options) == {o.name for o in command.options}, command.name
        for option in command.options:
            sent = options[option.name]
            where = f"/{command.name} {option.name}"
            assert sent["description"] == option.description, where
            assert sent.get("required", False) == option.required, where
            if option.choices:
                assert [c["name"] for c in sent["choices"]] == [s for s, _ in option.choices]
            elif option.kind is Kind.NUMBER:
                assert (sent["type"], sent["min_value"], sent["max_value"]) == (
                    4,
                    1,
                    option.max_value,
                ), where
            else:
                assert (sent["type"], sent["max_length"]) == (3, option.max_length), where
            completes = option.kind in (Kind.ZONE, Kind.DAYS, Kind.TOPICS) and not option.choices
            assert sent.get("autocomplete", False) == completes, where
    # Discord lists required options first, whatever order a command declares them in.
    for payload in synced.values():
        required = [o.get("required", False) for o in payload.get("options", [])]
        assert required == sorted(required, reverse=True)


async def test_options_reach_the_core_as_the_command_line_it_reads(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    said = await couple.slash(ALICE, "pause", days=3)
    assert "Paused for 3 days" in said.public[0]  # "/pause 3 days": the template applied
    said = await couple.slash(ALICE, "topics", action="show")  # a choice whose word is empty
    assert said.public[0].startswith("📚 Topics")
    said = await couple.slash(ALICE, "topics", action="choose", topics="gratitude")
    assert said.public == ["✅ Your topics: Gratitude."]
    said = await couple.slash(ALICE, "forget", scope="only me")  # shown "only me", typed "me"
    assert "erases your own check-in answers" in said.public[0]


async def test_a_dev_guild_gets_the_commands_instantly_and_nothing_goes_global(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    adapter = new_adapter(discord_dev_guild_id=GUILD_ID)
    await adapter.start(core(store, clock, library, adapter))
    try:
        assert set(fake.synced) == {GUILD_ID}
        assert {c["name"] for c in fake.synced[GUILD_ID]} == set(COMMANDS)
    finally:
        await adapter.stop()


async def test_a_couples_first_day_of_commands(couple: Couple, library: Library) -> None:
    steps: list[tuple[str, dict[str, object], str]] = [
        ("start", {}, "not therapy"),
        ("timezone", {"zone": "Berlin"}, "Timezone set to Europe/Berlin; it's 13:00 there now."),
        (
            "remind",
            {"time": "8:30 pm", "days": "weekdays"},
            "Daily prompt set for 20:30 on weekdays",
        ),
        ("checkin", {"time": "9pm"}, "Daily check-in set for 21:00 every day"),
        ("schedule", {}, "Daily prompt: 20:30 on weekdays, next Mon 23 Nov at 20:30."),
        ("timezone", {}, "Timezone: Europe/Berlin (it's 13:00 there now)"),
        (
            "topics",
            {"topics": "gratitude, active listening"},
            "Your topics: Active listening, Gratitude.",
        ),
        (
            "topics",
            {"action": "add", "topics": "patience"},
            "Active listening, Gratitude, Patience.",
        ),
        (
            "topics",
            {"action": "drop", "topics": "gratitude"},
            "Your topics: Active listening, Patience.",
        ),
        ("topics", {}, "✓ patience: Patience"),
        ("topics", {"action": "all"}, "Your topics: Active listening"),
        ("tip", {}, "🌱 Today's step"),
        ("pause", {"days": 3}, "Paused for 3 days, until Tue 24 Nov"),
        ("pause", {}, "Paused until you /resume"),
        ("resume", {}, "Resumed"),
        ("progress", {}, "Days you both showed up: 0"),
        ("privacy", {}, "Never your private notes"),
        ("help", {}, "/remind <time> [days]"),
        ("remind", {"time": "off"}, "Daily prompt turned off."),
        ("checkin", {"time": "off"}, "Daily check-in turned off."),
    ]
    for name, options, expected in steps:
        said = await couple.slash(ALICE, name, **options)
        assert said.private == [], f"/{name} {options}"
        assert any(expected in text for text in said.public), f"/{name} {options}: {said.public}"
    assert couple.fake.thinking() == []


async def test_support_is_answered_only_to_the_one_who_asked(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "timezone", zone="London")
    said = await couple.slash(ALICE, "support")
    assert said.public == []  # the channel, and the partner in it, see nothing of it
    [answer] = said.private
    assert answer.startswith("🆘 In danger right now? Call 999")
    assert "0808 2000 247" in answer and "I assumed the UK from your timezone" in answer


@pytest.mark.parametrize(
    ("name", "options", "example"),
    [
        ("remind", {"time": "25:99"}, "Try a time like 20:30, 8pm or 8:30 pm."),
        ("remind", {"time": "8pm", "days": "someday"}, "mon,wed,fri"),
        ("checkin", {"time": "13pm"}, "8:30 pm"),
        ("checkin", {"days": "weekdays"}, "as a time of day"),
        ("timezone", {"zone": "Mars/Olympus"}, "Europe/Berlin"),
        ("topics", {"topics": "astrology"}, "/topics gratitude, patience"),
        ("topics", {"action": "add"}, "/topics add gratitude"),
        ("pause", {"days": 0}, "/pause 3 days"),
    ],
)
async def test_bad_input_gets_a_private_example_and_changes_nothing(
    couple: Couple, name: str, options: dict[str, object], example: str
) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "remind", time="20:30")
    before = (await couple.slash(ALICE, "schedule")).public
    said = await couple.slash(ALICE, name, **options)
    assert said.public == []
    assert any(example in text for text in said.private), said.private
    assert (await couple.slash(ALICE, "schedule")).public == before


@pytest.mark.logs_errors("a command Discord still offers but this version lacks is logged")
async def test_a_command_this_version_no_longer_has_gets_a_short_apology(couple: Couple) -> None:
    said = await couple.slash(ALICE, "dance")  # synced by an older version, still in the menu
    assert said.public == [] and said.private == [SORRY]


async def test_export_arrives_as_a_json_file(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    said = await couple.slash(ALICE, "export")
    files = [f for p in said.posts if p.shown for f in p.files]
    [(text_name, text)] = [(n, d) for n, d in files if n.endswith(".txt")]
    [(filename, data)] = [(n, d) for n, d in files if n.endswith(".json")]
    assert text_name.startswith("tandem-") and "Who: Alice (you)" in text.decode()
    assert filename.startswith("tandem-export-")
    assert json.loads(data)["members"][0]["name"] == "Alice"


async def test_forget_asks_first_then_erases_in_public(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "remind", time="20:30")
    ask = await couple.slash(ALICE, "forget")
    question = couple.fake.find(HOME, "can't be undone")
    assert [label for label, _ in question.buttons] == ["Yes, erase everything", "Cancel"]
    assert ask.private == []
    kept = await couple.tap(ALICE, question, "Cancel")
    assert kept.private == ["Kept as it was. Nothing was erased."]
    erased = await couple.tap(ALICE, question, "Yes, erase everything")
    assert any("Everything Tandem kept about this space is erased" in t for t in erased.public)
    assert "Daily prompt: off" in (await couple.slash(ALICE, "schedule")).public[0]


async def test_timezone_autocomplete_offers_zones_and_cities(couple: Couple) -> None:
    zones = await couple.run(couple.fake.autocomplete("timezone", ALICE, HOME, "zone", zone="berl"))
    assert "Europe/Berlin" in zones.choices
    cities = await couple.run(
        couple.fake.autocomplete("timezone", ALICE, HOME, "zone", zone="new y")
    )
    assert "America/New_York" in cities.choices
    everything = await couple.run(
        couple.fake.autocomplete("timezone", ALICE, HOME, "zone", zone="")
    )
    assert len(everything.choices) == 25  # Discord's maximum


async def test_days_and_topics_autocomplete(couple: Couple) -> None:
    days = await couple.run(
        couple.fake.autocomplete("remind", ALICE, HOME, "days", time="8pm", days="week")
    )
    assert days.choices == ["weekdays", "weekends"]
    topics = await couple.run(
        couple.fake.autocomplete("topics", ALICE, HOME, "topics", topics="gratitude, pat")
    )
    assert topics.choices == ["gratitude, patience"]


async def test_checkin_now_posts_the_checkin_and_leaves_no_trace_of_the_command(
    couple: Couple,
) -> None:
    await couple.slash(ALICE, "start")
    said = await couple.slash(ALICE, "checkin")
    [checkin] = said.public
    assert checkin.startswith("💬 Check-in:")
    assert "tap “Add a note”" in checkin and "reply to this message" not in checkin
    post = couple.fake.last_message(HOME)
    assert rows_of(post) == [
        [
            "1 · on edge",
            "2 · a bit uneasy",
            "3 · in between",
            "4 · mostly at ease",
            "5 · fully at ease",
        ],
        ["Skip today", "Add a note", "✍️ Answer", "Pass on this one", "Another question"],
        ["🔒 Answer privately"],
    ]
    assert said.private == [] and couple.fake.thinking() == []


async def test_both_partners_answer_in_the_channel_and_the_scores_show_once_both_did(
    couple: Couple,
) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(BOB, "start")
    await couple.slash(ALICE, "checkin")
    checkin = couple.fake.last_message(HOME)
    alice = await couple.tap(ALICE, checkin, "4")
    assert alice.private == [
        "Thanks, Alice. Your check-in for Sat 21 Nov is saved: 4/5. "
        "You'll both see the answers when Bob has answered."
    ]
    assert not any("4" in text for text in alice.public)  # at most a nudge, never the score
    changed = await couple.tap(ALICE, checkin, "3")
    assert changed.private[0].startswith(
        "Thanks, Alice. Your check-in for Sat 21 Nov is changed to 3/5."
    )
    assert changed.public == []  # one nudge a day, never a second
    bob = await couple.tap(BOB, checkin, "5")
    assert bob.private == ["Thanks, Bob. Your check-in for Sat 21 Nov is saved: 5/5."]
    [reveal] = bob.public
    assert reveal.startswith(
        "💛 You've both checked in for Sat 21 Nov. Days you both showed up: 1.\nAlice 3/5 · Bob 5/5\n"
        "You two saw the day quite differently."  # two apart: one gentle line
    )


async def test_a_note_goes_through_a_form_and_stays_private(couple: Couple) -> None:
    await couple.slash(BOB, "start")
    await couple.slash(BOB, "checkin")
    checkin = couple.fake.last_message(HOME)
    form = await couple.tap(BOB, checkin, "Add a note")
    assert form.modal.data["title"] == "Add a note to your check-in"
    saved = await couple.run(couple.fake.submit(BOB, form.modal, "Felt heard tonight."))
    assert saved.public == []
    assert saved.private[0].startswith("📝 Note saved with your check-in for Sat 21 Nov, Bob.")
    [confirmation] = [p for p in saved.posts if p.shown]
    assert rows_of(confirmation) == [["Keep private", "Share at the reveal"]]
    assert "Felt heard" not in " ".join(couple.fake.public(HOME))


async def test_old_checkin_buttons_still_work_after_a_restart(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> None:
    first = new_adapter()
    await first.start(core(store, clock, library, first))
    await Couple(fake, first, first.tandem, clock).slash(ALICE, "start")
    await Couple(fake, first, first.tandem, clock).slash(ALICE, "checkin")
    await first.stop()
    checkin = fake.last_message(HOME)
    second = new_adapter()
    await second.start(core(store, clock, library, second))
    try:
        said = await Couple(fake, second, second.tandem, clock).tap(ALICE, checkin, "2")
        assert said.private[0].startswith(
            "Thanks, Alice. Your check-in for Sat 21 Nov is saved: 2/5."
        )
    finally:
        await second.stop()


async def test_someone_outside_the_couple_cannot_change_the_schedule(couple: Couple) -> None:
    await couple.slash(ALICE, "start")  # /start (or a check-in answer) makes Alice a partner
    await couple.slash(ALICE, "remind", time="20:30")
    for name, options in [
        ("remind", {"time": "6am"}),
        ("checkin", {"time": "9pm"}),
        ("timezone", {"zone": "Tokyo"}),
        ("topics", {"topics": "gratitude"}),
        ("pause", {}),
        ("resume", {}),
        ("reveal", {"mode": "instant"}),
        ("question", {"number": 2}),
        ("export", {}),
        ("forget", {}),
    ]:
        said = await couple.slash(EVE, name, **options)
        assert said.public == [], name
        assert said.private == [NOT_A_PARTNER], name
    assert (await couple.slash(EVE, "timezone")).public[0].startswith("🕰 Timezone: UTC")
    schedule = (await couple.slash(ALICE, "schedule")).public[0]
    assert "Daily prompt: 20:30 every day" in schedule and "Daily check-in: off" in schedule


async def test_a_moderator_may_not_change_it_and_a_new_channel_is_open_to_anyone(
    couple: Couple,
) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "remind", time="20:30")
    assert (await couple.slash(MODERATOR, "remind", time="21:00")).private == [NOT_A_PARTNER]
    assert "20:30" in (await couple.slash(ALICE, "schedule")).public[0]
    await couple.slash(EVE, "start", channel=LOUNGE)
    assert (await couple.slash(EVE, "remind", time="7am", channel=LOUNGE)).private == []
    assert "07:00" in (await couple.slash(EVE, "schedule", channel=LOUNGE)).public[0]


async def test_someone_outside_the_couple_cannot_confirm_forget(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "remind", time="20:30")
    await couple.slash(ALICE, "forget")
    question = couple.fake.find(HOME, "can't be undone")
    said = await couple.tap(EVE, question, "Yes, erase everything")
    assert said.public == [] and said.private == [
        "Only the person who asked can confirm this. Nothing was erased."
    ]
    assert "20:30" in (await couple.slash(ALICE, "schedule")).public[0]


async def test_only_people_who_see_the_channel_answer_its_checkins(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(ALICE, "checkin")
    checkin = couple.fake.last_message(HOME)
    outsider = Person(EVE.id, "Eve", MEMBER & ~VIEW)
    refused = await couple.tap(outsider, checkin, "5")
    assert refused.private == ["Only people who can see this channel can answer its check-ins."]
    no_form = await couple.tap(outsider, checkin, "Add a note")
    assert no_form.private == refused.private and not [
        p for p in no_form.posts if p.kind == "modal"
    ]
    assert "Days you both showed up: 0" in (await couple.slash(ALICE, "progress")).public[0]


async def test_a_dm_is_a_space_of_its_own_with_no_permission_checks(couple: Couple) -> None:
    said = await couple.slash(ALICE, "start", channel=DM)
    assert "not therapy" in said.public[0]
    assert (await couple.slash(ALICE, "remind", channel=DM, time="7am")).private == []
    schedule = (await couple.slash(ALICE, "schedule", channel=DM)).public[0]
    assert "Daily prompt: 07:00" in schedule
    assert "Daily prompt: off" in (await couple.slash(ALICE, "schedule")).public[0]


async def test_setting_up_where_the_bot_cannot_post_warns_the_couple_privately(
    couple: Couple,
) -> None:
    couple.fake.bot_permissions = VIEW | APP_COMMANDS
    said = await couple.slash(ALICE, "start")
    assert "not therapy" in said.public[0]
    assert said.private == [CANNOT_POST]
    assert (await couple.slash(ALICE, "help")).private == []
    couple.fake.bot_permissions = MEMBER
    assert (await couple.slash(ALICE, "remind", time="20:30")).private == []


class PacedTandem(Tandem):
    """The core, answering only when the test lets it (a slow database, as Discord sees it)."""

    release: asyncio.Event
    says: list[Outgoing] | None = None  # instead of the core's own answer

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        await self.release.wait()
        return self.says if self.says is not None else await super().handle(incoming)


@pytest.fixture
async def paced(
    fake: FakeDiscord, store: Store, clock: FixedClock, library: Library
) -> AsyncIterator[tuple[Couple, PacedTandem]]:
    adapter = new_adapter()
    adapter.ack_after = 0.05
    tandem = PacedTandem(store, clock, library, adapter)
    tandem.release = asyncio.Event()
    await adapter.start(tandem)
    couple = Couple(fake, adapter, tandem, clock)
    tandem.release.set()
    await couple.slash(ALICE, "start")
    tandem.release.clear()
    fake.timeline.clear()
    yield couple, tandem
    await adapter.stop()


async def test_slow_answers_are_acknowledged_in_time_then_shown_privately(
    paced: tuple[Couple, PacedTandem],
) -> None:
    couple, tandem = paced
    payload = couple.fake.command("remind", ALICE, HOME, time="25:00")
    couple.adapter.client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await couple.fake.answered(int(payload["id"]))
    assert [p.kind for p in couple.fake.timeline] == ["thinking"]  # acknowledged, core still busy
    tandem.release.set()
    await couple.adapter.idle()
    assert couple.fake.thinking() == []
    assert "Try a time like 20:30" in couple.fake.private(ALICE)[0]


async def test_slow_public_answers_replace_the_thinking_note(
    paced: tuple[Couple, PacedTandem],
) -> None:
    couple, tandem = paced
    tandem.release.set()
    couple.adapter.ack_after = 0.0
    said = await couple.slash(ALICE, "remind", time="20:30")
    assert said.public[0].startswith("✅ Daily prompt set for 20:30")
    assert couple.fake.thinking() == [] and said.private == []


@pytest.mark.parametrize("ack_after", [5.0, 0.0])
async def test_long_answers_arrive_in_parts_each_seen_by_the_right_people(
    paced: tuple[Couple, PacedTandem], ack_after: float
) -> None:
    couple, tandem = paced
    tandem.release.set()
    couple.adapter.ack_after = ack_after
    to = Address("discord", str(HOME.id))
    tandem.says = [
        Outgoing(to, "Only for you. " * 200, private=True),  # 2,800 characters
        Outgoing(to, "For you both. " * 200),
    ]
    said = await couple.slash(ALICE, "progress")
    assert len(said.private) == 2 and len(said.public) == 2
    assert all(len(t) <= 2000 for t in said.private + said.public)
    assert " ".join(said.private).split() == ("Only for you. " * 200).split()
    assert couple.fake.private(BOB) == [] and couple.fake.thinking() == []
