"""Words of danger from someone Tandem has no private chat with yet: a neutral line in the shared
chat opens one, and the help is given there."""

from __future__ import annotations

from bot.safety.replies import OPEN_PRIVATELY
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, said
from tests.test_checkins import ask
from tests.test_two_voices import privately, start_code


async def test_a_neutral_line_opens_the_private_chat_where_help_is_given(
    lite: Tandem, messenger: FakeMessenger
) -> None:
    checkin = await ask(lite, messenger)  # a couple in their group, no private chat linked
    replies = await lite.handle(
        said(ALICE, "I want to die", reply_to=messenger.message_id_of(checkin))
    )
    [line] = [r for r in replies if r.buttons and r.to == HOME]
    assert line.text == OPEN_PRIVATELY  # nothing in it says why
    assert all("die" not in r.text and "988" not in r.text for r in replies)
    code = start_code(line)
    [help_there] = await lite.handle(privately(ALICE, f"/start {code}"))
    assert "emergency" in help_there.text.lower() and help_there.protect
    assert not any(r.to != HOME for r in replies)  # nothing reached Bob anywhere


async def test_ordinary_words_get_no_such_line(lite: Tandem, messenger: FakeMessenger) -> None:
    checkin = await ask(lite, messenger)
    replies = await lite.handle(
        said(BOB, "a calm day, we cooked", reply_to=messenger.message_id_of(checkin))
    )
    assert all(r.text != OPEN_PRIVATELY for r in replies)
