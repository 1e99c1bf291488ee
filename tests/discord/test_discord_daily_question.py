"""Today's question on Discord: "Answer" opens a form (a modal) only its author sees, and the
words are revealed in the channel once both partners answered, under each /reveal rule."""

from __future__ import annotations

import pytest

from tests.discord.discord_fakes import HOME, FakeDiscord, Person, Post
from tests.discord.harness import Answer, Couple
from tests.discord.test_discord_two_voices import ALEX, SAM, a_couple, checkin_in

ALEX_WORDS = "When you waited up for me on Thursday."
SAM_WORDS = "Cooking together, badly, and laughing about it."


async def write(couple: Couple, person: Person, post: Post, words: str) -> Answer:
    form = await couple.tap(person, post, "✍️ Answer")
    assert form.modal.data["title"] == "Today's question"
    return await couple.run(couple.fake.submit(person, form.modal, words))


@pytest.mark.parametrize("rule", ["together", "never"])
async def test_an_answer_in_a_form_is_revealed_in_the_channel_only_when_both_answered(
    couple: Couple, fake: FakeDiscord, rule: str
) -> None:
    await a_couple(couple)
    await couple.slash(ALEX, "pair")
    await couple.slash(SAM, "pair")
    if rule == "never":
        await couple.slash(ALEX, "reveal", mode="never")
    couple.clock.set("2026-11-21T21:30:00+00:00")
    due = await couple.dispatch()
    alex_checkin, sam_checkin = checkin_in(due, fake, ALEX), checkin_in(due, fake, SAM)
    assert "❓ Today's question:" in alex_checkin.content
    channel_before = fake.public(HOME)

    saved = await write(couple, ALEX, alex_checkin, ALEX_WORDS)
    assert saved.private[0].startswith("✍️ Your answer is saved.")
    # Nothing of Alex's words reaches the channel or Sam.
    assert fake.public(HOME) == channel_before
    assert not any("waited up" in text for text in fake.public(fake.dm(SAM)))

    await write(couple, SAM, sam_checkin, SAM_WORDS)
    reveal = fake.public(HOME)[-1]
    if rule == "together":
        assert f"Alex: “{ALEX_WORDS}”" in reveal and f"Sam: “{SAM_WORDS}”" in reveal
    else:
        assert "stay with each of you" in reveal
        assert "waited up" not in reveal and "Cooking" not in reveal
    assert not any("waited up" in text for text in fake.public(fake.dm(SAM)))
