"""A looser /reveal never reads back what was said under a stricter one, and both partners hear of
it; a stricter one hides at once. From both chairs: the partner who changes the rule gains no view
of answers the other gave believing they were private."""

from __future__ import annotations

import json

from bot.service import Tandem
from tests.conftest import exported, one
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import checkin_due, couple, dm, privately, tap


async def test_switching_to_instant_does_not_show_todays_waiting_answer(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 2)))  # together: waits for Alice

    changed = await lite.handle(privately(ALICE, "/reveal instant"))

    # Both hear of it, wherever they answer, before any more answers are shown.
    assert {m.to for m in changed} >= {HOME, dm(ALICE)}
    assert all("from now on" in m.text for m in changed)
    for where in (said(ALICE, "/progress"), privately(ALICE, "/progress")):
        assert "2/5" not in (await one(lite, where)).text
    export = exported(await lite.handle(privately(ALICE, "/export")))
    assert export.attachment is not None
    rows = json.loads(export.attachment.data)["checkins"]
    assert all(r.get("score") != 2 for r in rows)  # only Bob has answered: his 2 is not there
    # Alice's own answer, given under instant, is shown as tapped; the reveal then shows both,
    # since Bob's was given under together and now both have answered.
    replies = await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 5)))
    shared = " ".join(r.text for r in replies if r.to == HOME)
    assert "Alice 5/5 · Bob 2/5" in shared


async def test_answers_given_under_never_stay_private_after_together(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    await lite.handle(said(BOB, "/reveal never"))
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 1)))

    await lite.handle(said(ALICE, "/reveal together"))

    for where in (said(ALICE, "/progress"), privately(ALICE, "/progress")):
        assert "Bob 1/5" not in (await one(lite, where)).text
    export = exported(await lite.handle(privately(ALICE, "/export")))
    assert export.attachment is not None
    scores = {r["by"]: r.get("score") for r in json.loads(export.attachment.data)["checkins"]}
    assert 1 not in scores.values()  # Bob's score is not in Alice's export
    # The next day is under the new rule: both scores are revealed together.
    clock.advance(days=1)
    await lite.dispatch_due()
    sent = {m.to: m for m in messenger.take()}
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 3)))
    _, reveal = await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 4)))
    assert "Alice 3/5 · Bob 4/5" in reveal.text


async def test_never_hides_what_was_already_revealed_at_once(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await couple(lite)
    sent = await checkin_due(lite, clock, messenger)
    await lite.handle(privately(ALICE, action=tap(sent[dm(ALICE)], 4)))
    await lite.handle(privately(BOB, action=tap(sent[dm(BOB)], 1)))
    assert "Bob 1/5" in (await one(lite, said(ALICE, "/progress"))).text

    [set_never] = await lite.handle(said(BOB, "/reveal never"))

    assert set_never.to == HOME and "earlier days too" in set_never.text
    assert "Bob 1/5" not in (await one(lite, said(ALICE, "/progress"))).text
    [again] = await lite.handle(said(BOB, "/reveal never"))
    assert "already never" in again.text
