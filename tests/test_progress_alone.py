"""/progress never speaks of "both of you" to someone who is on their own."""

from __future__ import annotations

from bot.service import Tandem
from tests.conftest import one
from tests.fakes import ALICE, BOB, said
from tests.test_two_voices import pair, privately


async def test_after_the_other_forgets_progress_says_it_is_just_you(lite: Tandem) -> None:
    await pair(lite, ALICE)
    await pair(lite, BOB)
    [confirm] = await lite.handle(privately(BOB, "/forget me"))
    await lite.handle(privately(BOB, action=confirm.buttons[0].action))

    alice = await one(lite, said(ALICE, "/progress"))
    assert alice.text.startswith("Just you here for now, Alice:")

    bob = await one(lite, privately(BOB, "/progress"))  # his chat belongs to no couple now
    assert "both of you" not in bob.text and "Send /start" in bob.text
