"""/export's prompts are the ones the couple was sent, as they read: a path's step where it
replaced the rotation's prompt, a sided partner's own step in their check-in, a step carried
inside the check-in listed as part of it, and never a prompt that was not sent (a side's own
prompt left out on a path, a send that failed). And a pause shows only while it is in force."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from bot.content import Library
from bot.messages import Outgoing, SendResult, SendStatus
from bot.service import Tandem
from tests.conftest import exported
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_paths import BREACH, CRISIS, Couple, step_of
from tests.test_two_voices import dm, private_couple, privately

FIRST = date(2026, 11, 21)  # a Saturday


async def export(tandem: Tandem, who: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    """Their export: the file to read, and the clean JSON."""
    replies = await tandem.handle(privately(who, "/export"))
    text, clean = exported(replies, ".txt").attachment, exported(replies, ".json").attachment
    assert text is not None and clean is not None
    return text.data.decode(), json.loads(clean.data)


def given(text: str) -> list[str]:
    """The lines under "Prompts you were given"."""
    if "\nPrompts you were given\n" not in text:
        return []
    part = text.split("\nPrompts you were given\n", 1)[1]
    return [line for line in part.splitlines() if line.startswith("  ")]


async def choose_a_side(tandem: Tandem, who: tuple[str, str]) -> None:
    [choice] = await tandem.handle(privately(who, "/perspective"))
    await tandem.handle(privately(who, action=choice.buttons[1].action))  # working to earn trust


async def test_on_a_path_the_export_lists_the_steps_sent_not_the_rotations_prompts(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    # A group, both private chats, the step at 20:00 in the group, the check-ins at 21:00 in
    # private; Bob chose a side, and they walk the breach path for four days.
    us = Couple(lite, clock, messenger)
    await us.start()
    await choose_a_side(lite, BOB)
    await lite.handle(said(ALICE, "/path breach"))
    bob_got: list[Outgoing] = []
    for n in range(4):
        got = await us.day(FIRST + timedelta(days=n))
        bob_got += got[HOME] + got[dm(BOB)]

    steps = [BREACH.steps(1, n)[0].text for n in range(1, 5)]
    sides = [found[0].text for n in range(1, 5) if (found := BREACH.steps(1, n, "doubted"))]
    assert sides  # the breach path's first week has steps for his side
    text, data = await export(lite, BOB)
    lines = given(text)
    # Each day's step, at 20:00, and his side's steps in his check-in at 21:00.
    for n, step in enumerate(steps):
        day = (FIRST + timedelta(days=n)).strftime("%a %d %b %Y").replace(" 0", " ")
        assert f"  {day} at 20:00: {step}" in lines
    for side in sides:
        assert any(
            line.endswith(f" at 21:00, in your check-in, just for you: {side}") for line in lines
        ), lines
    assert len(lines) == len(steps) + len(sides)
    # Each of them he was sent, word for word; no prompt of the rotation (his side's own, or
    # the shared one the step stood in for) was sent, and none is listed.
    assert all(any(p["prompt"] in m.text for m in bob_got) for p in data["prompts"])
    for prompt in library.prompts:
        assert prompt.text not in text
    assert [p["prompt"] for p in data["prompts"] if p.get("just_for_you")] == sides

    # Alice's lists the same steps, and nothing of Bob's side.
    text, data = await export(lite, ALICE)
    assert [p["prompt"] for p in data["prompts"]] == steps
    assert not any(side in text for side in sides) and "just for you" not in text


async def test_a_rest_day_on_a_path_is_listed_as_the_quiet_day_it_was(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    await lite.handle(said(ALICE, "/path breach"))
    await us.day(FIRST)
    clock.set("2026-11-22T10:00:00+00:00")
    await lite.handle(privately(ALICE, CRISIS))  # crisis help: the path rests
    quiet = await us.day(FIRST + timedelta(days=1))
    assert step_of(quiet).startswith("🌿 A quiet day on your path")
    text, data = await export(lite, BOB)
    assert [p["prompt"] for p in data["prompts"]] == [
        BREACH.steps(1, 1)[0].text,
        "A quiet day on your path: no step for the two of you.",
    ]
    for word in ("crisis", "support", "help", "Alice", "rest"):
        assert word not in data["prompts"][1]["prompt"], word
    assert not any(p.text in text for p in library.prompts)


async def test_a_step_carried_in_the_check_in_is_listed_as_part_of_it(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    # No group: the step (20:00) rides in each private check-in (20:30), at 20:00. Bob's side's
    # own prompt rides in his check-in too, on Free practice; on the path it is left out.
    await private_couple(lite)
    await lite.handle(privately(ALICE, "/remind 20:00"))
    await lite.handle(privately(ALICE, "/checkin 20:30"))
    await choose_a_side(lite, BOB)
    messenger.take()
    bob_got: list[str] = []
    first = FIRST + timedelta(days=1)  # a day his side's own prompt comes (every other day)
    for n in range(4):
        day = first + timedelta(days=n)
        if n == 2:
            clock.set(f"{day.isoformat()}T12:00:00+00:00")
            await lite.handle(privately(ALICE, "/path breach"))
        for hour in ("20:00", "20:30"):
            clock.set(f"{day.isoformat()}T{hour}:00+00:00")
            await lite.dispatch_due()
            bob_got += [m.text for m in messenger.take() if m.to == dm(BOB)]
    clock.set(f"{(first + timedelta(days=3)).isoformat()}T22:00:00+00:00")
    [tip] = await lite.handle(privately(BOB, "/tip"))

    text, data = await export(lite, BOB)
    lines = given(text)
    by_text = {p.text: p for p in library.prompts}
    free = [p for p in data["prompts"] if p["prompt"] in by_text and p["prompt"] not in tip.text]
    path = [p for p in data["prompts"] if p["prompt"] not in by_text and "just_for_you" not in p]
    side = [p for p in data["prompts"] if p["prompt"] not in by_text and "just_for_you" in p]
    # Free practice: the rotation's step in the check-in, each day, and his side's own prompt
    # below it on the first; on the path, the path's step in the check-in, and no side prompt.
    assert [(p.get("inside"), p.get("just_for_you", False)) for p in free] == [
        ("check-in", False),
        ("check-in", True),
        ("check-in", False),
    ]
    assert [p["prompt"] for p in path] == [BREACH.steps(1, 1)[0].text, BREACH.steps(1, 2)[0].text]
    assert all(p["inside"] == "check-in" for p in path)
    # His side's step on the path's second day, in his check-in.
    assert [p["prompt"] for p in side] == [BREACH.steps(1, 2, "doubted")[0].text]
    assert any(line.endswith(f"at 20:00, in the check-in: {path[0]['prompt']}") for line in lines)
    assert any(", in your check-in, just for you: " in line for line in lines)
    # Every prompt listed is one he was sent, and every one he was sent is listed.
    listed = [p["prompt"] for p in data["prompts"]]
    assert all(any(p in m for m in [*bob_got, tip.text]) for p in listed)
    sent = [p.text for p in library.prompts if any(p.text in m for m in bob_got)]
    assert sorted(sent) == sorted(p["prompt"] for p in free)
    # /tip's prompt was given at once: listed too, at the time he asked.
    assert any(line.endswith(f"at 22:00, just for you: {listed[-1]}") for line in lines)
    assert listed[-1] in tip.text


async def test_a_prompt_whose_send_failed_is_not_listed(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger, library: Library
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    messenger.fail(HOME.chat_id, SendResult(SendStatus.FAILED, reason="BadRequest"))
    got = await us.day(FIRST)
    assert HOME not in got  # the day's step never reached the group
    got = await us.day(FIRST + timedelta(days=1))
    [step] = [m for m in got[HOME] if m.text.startswith("🌱 Today's step")]
    text, data = await export(lite, ALICE)
    assert [p["prompt"] for p in data["prompts"]] == [
        p.text for p in library.prompts if p.text in step.text
    ]
    assert len(given(text)) == 1 and given(text)[0].startswith("  Sun 22 Nov 2026 at 20:00: ")


async def test_a_pause_is_shown_only_while_it_is_in_force(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await private_couple(lite)
    await lite.handle(privately(ALICE, "/checkin 21:00"))
    clock.set("2026-12-05T12:00:00+00:00")  # a Saturday
    paused, *_ = await lite.handle(privately(ALICE, "/pause 3"))
    assert "until Tue 8 Dec" in paused.text
    clock.set("2026-12-07T12:00:00+00:00")
    text, data = await export(lite, BOB)
    assert "Check-in: 21:00 every day, paused until Tue 8 Dec 2026 at 00:00" in text
    assert {s.get("paused_until") for s in data["schedules"]} == {"2026-12-08 00:00:00+00:00"}
    # Wed 9 Dec: the pause has ended (nothing was changed since, so the row still holds it).
    clock.set("2026-12-09T12:00:00+00:00")
    text, data = await export(lite, BOB)
    assert "Check-in: 21:00 every day\n" in text and "paused" not in text
    assert data["schedules"] and all("paused_until" not in s for s in data["schedules"])
    # A pause until /resume says so, not a date.
    await lite.handle(privately(ALICE, "/pause"))
    text, _ = await export(lite, BOB)
    assert "Check-in: 21:00 every day, paused until you /resume" in text
