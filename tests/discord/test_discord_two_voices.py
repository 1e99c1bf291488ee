"""Two voices on Discord: pairing by DM, private check-ins, the reveal in the channel, and who may
change what, through the real discord.py objects against the fake Discord."""

from __future__ import annotations

import json

from bot.command import NOT_A_PARTNER
from bot.partners.commands import SIDE_LABELS
from tests.discord.discord_fakes import (
    EVE,
    HOME,
    MODERATOR,
    FakeDiscord,
    Person,
    Post,
    error,
    rows_of,
)
from tests.discord.harness import Couple

ALEX = Person(100_000_000_000_000_011, "Alex")
SAM = Person(100_000_000_000_000_012, "Sam")
LINKED = "🔒 Linked: I'll message you privately from now on."
DMS_CLOSED = "I couldn't send you a direct message: your DMs from this server seem closed."
HELLO = "🔒 This is your private chat with Tandem."
NOTE = "I was scared to say it, but I felt closer tonight."


def dms_closed(fake: FakeDiscord, person: Person) -> None:
    """Their next message from Tandem is refused: "Cannot send messages to this user"."""
    fake.script(fake.dm(person).id, error(403, 50007, "Cannot send messages to this user"))


def checkin_in(posts: list[Post], fake: FakeDiscord, person: Person) -> Post:
    [post] = [p for p in posts if p.channel_id == fake.dm(person).id]
    return post


async def a_couple(couple: Couple) -> None:
    """Alex and Sam start Tandem in their channel, with a check-in at 21:30 (UTC)."""
    await couple.slash(ALEX, "start")
    await couple.slash(SAM, "start")
    await couple.slash(ALEX, "checkin", time="21:30")
    couple.fake.timeline.clear()  # from here on, the tests read what each place was shown


async def test_pairing_opens_a_dm_and_closed_dms_get_a_private_explanation(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    paired = await couple.slash(ALEX, "pair")
    assert paired.private == [LINKED]
    [hello] = fake.public(fake.dm(ALEX))
    assert hello.startswith(HELLO)

    dms_closed(fake, SAM)
    refused = await couple.slash(SAM, "pair")
    [explanation] = refused.private
    assert explanation.startswith(DMS_CLOSED) and "/pair again" in explanation
    assert fake.public(fake.dm(SAM)) == []
    assert fake.public(HOME) == []  # nothing of this is shown to the channel

    # Sam opens their DMs and asks again: "Linked", not "already linked", and the DM is
    # tried again at once (closed DMs are not remembered as a dead channel).
    again = await couple.slash(SAM, "pair")
    assert again.private == [LINKED]
    assert fake.public(fake.dm(SAM))[0].startswith(HELLO)
    assert fake.posts_to(fake.dm(SAM).id) == 2
    assert (await couple.slash(SAM, "pair")).private == [
        "🔒 Your private chat with me is already linked to this space. ✓"
    ]


async def test_a_check_in_reaches_both_dms_and_the_channel_sees_only_the_reveal(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "pair")
    await couple.slash(SAM, "pair")

    couple.clock.set("2026-11-21T21:30:00+00:00")
    due = await couple.dispatch()
    alex_checkin, sam_checkin = checkin_in(due, fake, ALEX), checkin_in(due, fake, SAM)
    for post in (alex_checkin, sam_checkin):
        assert post.content.startswith("💬 Your check-in for Sat 21 Nov")
        assert rows_of(post) == [
            [
                "1 · on edge",
                "2 · a bit uneasy",
                "3 · in between",
                "4 · mostly at ease",
                "5 · fully at ease",
            ],
            # and today's question (issue 21), in the same message
            ["Skip today", "Add a note", "✍️ Answer", "Pass on this one", "Another question"],
        ]
    # Both answer in their DMs: the channel hears nothing until the reveal (issue 21).
    assert fake.public(HOME) == []

    alex = await couple.tap(ALEX, alex_checkin, "4")
    assert alex.private == [
        "Thanks, Alex. Your check-in for Sat 21 Nov is saved: 4/5. "
        "You'll both see the answers when Sam has answered."
    ]
    noted = await couple.note(ALEX, alex_checkin, NOTE)
    assert noted.private[0].startswith("📝 Note saved with your check-in for Sat 21 Nov, Alex.")
    [note_reply] = [p for p in noted.posts if p.shown]
    assert note_reply.ephemeral and note_reply.channel_id == fake.dm(ALEX).id
    assert rows_of(note_reply) == [["Keep private", "Share at the reveal"]]

    # Nothing of Alex's answer reaches the channel or Sam: one gentle nudge, no score, no note.
    assert fake.public(HOME) == []
    sam_sees = fake.public(fake.dm(SAM))
    assert sam_sees[-1].startswith("🌙 Alex has answered the check-in for Sat 21 Nov.")
    assert not any("4/5" in text or NOTE in text for text in sam_sees)

    sam = await couple.tap(SAM, sam_checkin, "2")
    assert sam.private == ["Thanks, Sam. Your check-in for Sat 21 Nov is saved: 2/5."]
    reveal = fake.public(HOME)[-1]
    assert reveal.startswith(
        "💛 You've both checked in for Sat 21 Nov. Days you both showed up: 1.\nAlex 4/5 · Sam 2/5"
    )
    assert fake.last_message(HOME).content == reveal  # posted to the channel, not in the DM
    everywhere = fake.public(HOME) + fake.public(fake.dm(SAM))
    assert not any(NOTE in text for text in everywhere)
    assert fake.thinking() == []


async def test_with_dms_closed_a_partner_answers_in_the_channel_privately(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "pair")
    dms_closed(fake, SAM)
    await couple.slash(SAM, "pair")

    couple.clock.set("2026-11-21T21:30:00+00:00")
    due = await couple.dispatch()
    assert checkin_in(due, fake, ALEX).content.startswith("💬 Your check-in")
    assert fake.posts_to(fake.dm(SAM).id) == 1  # only the hello that was refused
    channel_checkin = fake.last_message(HOME)
    assert rows_of(channel_checkin) == [
        [
            "1 · on edge",
            "2 · a bit uneasy",
            "3 · in between",
            "4 · mostly at ease",
            "5 · fully at ease",
        ],
        # Today's question for Sam, whose words go in a form only Sam sees (issue 21).
        ["Skip today", "Add a note", "✍️ Answer", "Pass on this one", "Another question"],
        ["🔒 Answer privately"],
    ]
    sam = await couple.tap(SAM, channel_checkin, "3")
    assert sam.private[0].startswith("Thanks, Sam. Your check-in for Sat 21 Nov is saved: 3/5.")
    assert fake.public(HOME) == [channel_checkin.content]  # the score waits for the reveal


async def test_answer_privately_on_a_channel_check_in_links_the_dm(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "checkin")
    checkin = fake.last_message(HOME)
    tapped = await couple.tap(ALEX, checkin, "🔒 Answer privately")
    assert tapped.private == [LINKED]
    assert fake.public(HOME) == [checkin.content]
    assert fake.public(fake.dm(ALEX))[0].startswith(HELLO)


async def test_export_after_pairing_arrives_in_the_dm(couple: Couple, fake: FakeDiscord) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "pair")
    said = await couple.slash(ALEX, "export")
    assert said.private == ["📦 Sent to your private chat with me."]
    export = fake.last_message(fake.dm(ALEX))
    [(filename, data)] = export.files
    assert filename.startswith("tandem-export-")
    assert json.loads(data)["space"]["platform"] == "discord"
    assert "chat_id" not in json.loads(data)["space"]  # the bot's own, not the couple's
    assert fake.public(HOME) == []


async def test_only_partners_change_export_or_erase_not_even_channel_managers(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    before = (await couple.slash(ALEX, "schedule")).public
    for who in (EVE, MODERATOR):  # someone in the server, and someone who manages the channel
        for name, options in [
            ("remind", {"time": "6am"}),
            ("reveal", {"mode": "instant"}),
            ("export", {}),
            ("forget", {}),
        ]:
            said = await couple.slash(who, name, **options)
            assert said.private == [NOT_A_PARTNER] and said.public == [], (who, name)
    assert (await couple.slash(ALEX, "schedule")).public == before
    assert not [p for p in fake.timeline if "can't be undone" in p.content or "📦" in p.content]


async def test_perspective_is_chosen_privately_with_three_buttons(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    said = await couple.slash(SAM, "perspective")
    assert said.public == []
    [offer] = [p for p in said.posts if p.shown]
    assert offer.ephemeral and offer.user_id == SAM.id
    assert rows_of(offer) == [list(SIDE_LABELS.values())]
    chosen = await couple.tap(SAM, offer, SIDE_LABELS["doubted"])
    assert chosen.public == []
    assert chosen.private[0].startswith(f"Saved: “{SIDE_LABELS['doubted']}”. Only you see this.")
    assert fake.public(HOME) == []
