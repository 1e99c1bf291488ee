"""/repair on Discord: each answer is written in a form (a modal) only its author sees, nothing
of it reaches the channel or the other's DM before both finished, then both are shown together
in the channel."""

from __future__ import annotations

from tests.discord.discord_fakes import HOME, FakeDiscord, Person, Post
from tests.discord.harness import Couple
from tests.discord.test_discord_two_voices import ALEX, SAM, a_couple

ALEX_SAYS = ("Left out of the decision", "To be asked", "I snapped at you")
SAM_SAYS = ("Blamed for the mess", "Some credit", "I kept score")


def newest(fake: FakeDiscord, person: Person) -> Post:
    """The newest post with buttons in this person's DM."""
    return [p for p in fake.timeline if p.channel_id == fake.dm(person).id and p.buttons][-1]


async def write_all(couple: Couple, person: Person, says: tuple[str, ...]) -> None:
    await couple.tap(person, newest(couple.fake, person), "Let's start")
    for words in says:
        form = await couple.tap(person, newest(couple.fake, person), "✍️ Write")
        assert form.modal.data["title"] == "A talk after a hard moment"
        await couple.run(couple.fake.submit(person, form.modal, words))


async def test_answers_in_forms_are_shown_in_the_channel_only_when_both_finished(
    couple: Couple, fake: FakeDiscord
) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "pair")
    await couple.slash(SAM, "pair")
    await couple.slash(SAM, "repair")
    assert "Sam invites you" in newest(fake, ALEX).content
    channel_before = fake.public(HOME)
    await write_all(couple, ALEX, ALEX_SAYS)
    assert fake.public(HOME) == channel_before
    seen_by_sam = "\n".join(fake.public(fake.dm(SAM)))
    assert not any(words in seen_by_sam for words in ALEX_SAYS)
    await write_all(couple, SAM, SAM_SAYS)
    reveal = fake.public(HOME)[-1]
    for words in (*ALEX_SAYS, *SAM_SAYS):
        assert f"“{words}”" in reveal
