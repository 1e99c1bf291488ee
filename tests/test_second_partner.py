"""The second partner is greeted as the second, not with the whole welcome again."""

from __future__ import annotations

from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, said


async def test_the_second_start_says_you_are_both_here_and_what_happens_next(lite: Tandem) -> None:
    [welcome] = await lite.handle(said(ALICE, "/start"))
    assert welcome.text.startswith(lite.library.texts.welcome.strip())
    assert "which city are you in?" in welcome.text  # the first /start: the set-up begins

    [both] = await lite.handle(said(BOB, "/start"))

    assert both.to == HOME  # the shared chat: both read it
    assert both.text.startswith("💞 You're both here now, Alice and Bob. What happens next:")
    assert "not therapy" in both.text and "/support" in both.text
    assert both.text != lite.library.texts.welcome
    assert "which city" not in both.text and not both.buttons  # no set-up the second time
    [again] = await lite.handle(said(BOB, "/start"))  # asked again later: the welcome
    assert again.text == lite.library.texts.welcome
