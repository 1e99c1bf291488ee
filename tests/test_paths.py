"""Guided paths over weeks (issue 21), as a couple lives them through the core on the injected
clock: choosing a path (both are told), the daily step from the path's week with its opening
on the week's first day, the pace (4 days of a week taken part in, or 10 days; slower: 10 and
14), a stage walked again, the look back's conversation guide, each side's steps in private
only, and the rest from couple exercises after crisis help."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot import actions
from bot.messages import Address, Outgoing
from bot.paths.library import load_paths
from bot.paths.progress import REST_DAYS
from bot.service import Tandem
from tests.fakes import ALICE, BOB, HOME, FakeMessenger, FixedClock, said
from tests.test_two_voices import couple, dm, private_couple, privately, tap

BREACH = load_paths().paths["breach"]
FIRST = date(2026, 11, 21)  # a Saturday
CRISIS = "I want to die"
# Words a missed day must never bring (a missed day is never punished).
SCOLDING = ("missed", "behind", "should have", "forgot", "again?")


class Couple:
    """A couple with a group, both private chats linked, a daily step at 20:00, the check-in at
    21:00 and the look back on Sundays at 19:00; each `day` is lived at those times."""

    def __init__(self, tandem: Tandem, clock: FixedClock, messenger: FakeMessenger) -> None:
        self.tandem, self.clock, self.messenger = tandem, clock, messenger

    async def start(self) -> None:
        await couple(self.tandem)
        await self.tandem.handle(said(ALICE, "/remind 20:00"))
        self.messenger.take()

    async def day(
        self, when: date, *, take_part: bool = True, checkin: bool = True, step: bool = True
    ) -> dict[Address, list[Outgoing]]:
        """The day's messages by chat. Taking part, both tap a score on their check-in; on a
        lighter day (no check-in dispatched, or no step either) they pass on today's question,
        which counts as taking part too."""
        got: dict[Address, list[Outgoing]] = {}
        hours = ("20:00", "21:00") if checkin else ("20:00",) if step else ()
        for hour in hours:
            self.clock.set(f"{when.isoformat()}T{hour}:00+00:00")
            await self.tandem.dispatch_due()
            for msg in self.messenger.take():
                got.setdefault(msg.to, []).append(msg)
        if take_part:
            self.clock.set(f"{when.isoformat()}T21:30:00+00:00")
            for who in (ALICE, BOB):
                if checkin:
                    [asked] = [m for m in got[dm(who)] if "Your check-in" in m.text]
                    action = tap(asked, 4)
                else:
                    action = actions.today(when, "pass")
                await self.tandem.handle(privately(who, action=action))
            self.messenger.take()
        return got


def step_of(got: dict[Address, list[Outgoing]]) -> str:
    [step] = [m.text for m in got.get(HOME, []) if m.text.startswith(("🧭", "🌱", "🌿 A quiet"))]
    return step


def look_back_of(got: dict[Address, list[Outgoing]]) -> list[str]:
    """The day's look back, if there was one (a quiet week gets none)."""
    return [m.text for m in got.get(HOME, []) if m.text.startswith("🌿 Your")]


async def choose(tandem: Tandem, who: tuple[str, str], label: str) -> list[Outgoing]:
    [offer] = await tandem.handle(said(who, "/path"))
    [button] = [b for b in offer.buttons if b.label == label]
    return await tandem.handle(said(who, action=button.action))


@pytest.mark.timeout(300)  # twelve weeks lived through the core: beyond the 60 s guard under load
async def test_a_breach_path_walked_for_twelve_weeks_with_a_slower_pace_and_a_stage_again(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    clock.set("2026-11-21T12:00:00+00:00")
    await choose(lite, ALICE, "Rebuilding after a breach")
    [where] = await lite.handle(said(BOB, "/path"))
    assert "Week 1 of 12: honesty and repair" in where.text
    assert "starts with your next daily step" in where.text
    day = FIRST
    weeks_seen: list[tuple[date, str]] = []
    guides: list[str] = []

    async def live(n: int, take_part: bool = True) -> list[str]:
        """n days; the check-in only on Saturdays (so each Sunday's look back has a day to
        tell of), else both pass on today's question: lighter days, the same taking part."""
        nonlocal day
        steps = []
        for _ in range(n):
            got = await us.day(day, take_part=take_part, checkin=day.weekday() == 5)
            step = step_of(got)
            steps.append(step)
            assert not any(word in step.lower() for word in SCOLDING), step
            if step.splitlines()[0].startswith("🧭 Week"):
                weeks_seen.append((day, step.splitlines()[0]))
            if day.weekday() == 6:
                guides.extend(look_back_of(got))
            day += timedelta(days=1)
        return steps

    async def skim(n: int) -> None:
        """n days of taking part in which nobody looks at Tandem (nothing dispatched)."""
        nonlocal day
        for _ in range(n):
            await us.day(day, checkin=False, step=False)
            day += timedelta(days=1)

    # Weeks 1 and 2, taking part every day: a week a week. The path's welcome and week 1's
    # opening come inside the first day's step, one message; the next day has no opening.
    first, second, *_ = await live(7)
    assert BREACH.intro in first and BREACH.week[0].opening in first
    assert first.startswith("🧭 Week 1 of 12: honesty and repair · A safe place to start")
    assert BREACH.steps(1, 1)[0].text in first
    assert BREACH.week[0].opening not in second and BREACH.steps(1, 2)[0].text in second
    [week2, *_] = await live(7)
    assert week2.startswith("🧭 Week 2 of 12") and BREACH.week[1].opening in week2
    assert BREACH.intro not in week2

    # Week 3, and nobody takes part: no scolding, the week simply waits, and moves on after 10.
    week3 = await live(10, take_part=False)
    assert all(s.startswith("🧭 Week 3 of 12: honesty and repair") for s in week3)
    assert BREACH.week[2].opening in week3[0] and BREACH.week[2].opening not in week3[7]
    [where] = await lite.handle(said(ALICE, "/path"))
    assert "Week 3 of 12: honesty and repair" in where.text
    week4 = await live(1)
    assert week4[0].startswith("🧭 Week 4 of 12") and BREACH.week[3].opening in week4[0]

    # The rest of week 4 at the slower pace (a button): taking part daily, it takes 10 days.
    [where] = await lite.handle(said(ALICE, "/path"))
    assert "Week 4 of 12: honesty and repair" in where.text
    assert [b.label for b in where.buttons] == [
        "Slower pace",
        "Repeat this stage",
        "Change path",
        "Stop the path",
    ]
    [slower] = [b for b in where.buttons if b.label == "Slower pace"]
    told = await lite.handle(said(BOB, action=slower.action))
    assert [m.to for m in told] == [HOME] and "slower pace" in told[0].text
    week4 += await live(9)
    assert all(s.startswith("🧭 Week 4 of 12") for s in week4)
    assert sum(BREACH.week[3].opening in s for s in week4) == 1
    # At the slower pace the seven steps spread over ten days, light before deep.
    assert BREACH.steps(4, 7)[0].text in week4[9]
    [back] = await lite.handle(said(ALICE, "/path normal"))
    assert "usual pace" in back.text

    # Week 5 opens the second stage; in week 6 the couple walks that stage again.
    await live(7)
    week6 = await live(3)
    assert week6[0].startswith("🧭 Week 6 of 12: understanding each other")
    [again] = await lite.handle(said(ALICE, "/path repeat"))
    assert "Understanding each other" in again.text and "Week 5 of 12" in again.text
    [redo] = await live(1)
    assert redo.startswith("🧭 Week 5 of 12: understanding each other")
    assert BREACH.week[4].opening in redo and BREACH.steps(5, 1)[0].text in redo
    await live(6)

    # Weeks 6 to 12, a week each (seen on each first day), then the path is walked and Free
    # practice takes over.
    for number in range(6, 13):
        [opened] = await live(1)
        assert opened.startswith(f"🧭 Week {number} of 12")
        assert BREACH.week[number - 1].opening in opened
        await skim(6)
    [after] = await live(1)
    assert after.startswith("🌱 Today's step ·")  # the topic rotation again
    [done] = await lite.handle(said(BOB, "/path"))
    assert "walked the whole of Rebuilding after a breach" in done.text

    firsts = [line for _, line in weeks_seen]
    for number in range(1, 13):
        assert any(line.startswith(f"🧭 Week {number} of 12") for line in firsts), number
    assert any("Week 3 of 12: honesty and repair" in line for line in firsts)
    assert any("Week 9 of 12: closeness again" in line for line in firsts)
    # Each Sunday's look back closes with the week's conversation guide; the first, a day into
    # the path, only says where they are: week 1's talk comes with the next one, once.
    first_look, *later = guides
    assert "🧭 Week 1 of 12" in first_look and "🗣" not in first_look
    assert "💬 Something to talk about" not in first_look
    assert len(later) >= 4
    titles = {g.title for g in load_paths().guides.values()}
    for text in later:
        assert "🗣 This week's talk:" in text and "1. Appreciations:" in text
        assert any(f"talk: {t}" in text for t in titles)
        assert "💬 Something to talk about" not in text
    assert f"talk: {load_paths().guides['guide-01'].title}" in later[0]
    talks = [line for text in later for line in text.splitlines() if line.startswith("🗣")]
    assert sum(load_paths().guides["guide-01"].title in t for t in talks) == 1


async def test_existing_spaces_stay_on_free_practice_until_they_choose(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    got = await us.day(FIRST)
    assert step_of(got).startswith("🌱 Today's step ·")
    [offer] = await lite.handle(said(BOB, "/path"))
    assert "You're on Free practice now" in offer.text
    assert [b.label for b in offer.buttons] == [
        "Rebuilding after a breach",
        "Worry without a breach",
        "Keeping trust strong",
        "Free practice",
    ]
    [bad] = await lite.handle(said(BOB, "/path sideways"))
    assert "/path breach" in bad.text and bad.private
    [nothing] = await lite.handle(said(BOB, "/path slower"))
    assert "Free practice" in nothing.text
    got = await us.day(FIRST + timedelta(days=1))
    assert step_of(got).startswith("🌱 Today's step ·")


async def test_both_are_told_which_path_was_chosen(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    # With a group: chosen in a private chat, the group hears it too.
    await couple(lite)
    [offer] = await lite.handle(privately(BOB, "/path"))
    [worry] = [b for b in offer.buttons if b.label == "Worry without a breach"]
    told = await lite.handle(privately(BOB, action=worry.action))
    assert [m.to for m in told] == [dm(BOB), HOME]
    assert "Bob chose a path for you both" in told[1].text
    assert "Worry without a breach" in told[1].text


async def test_without_a_group_each_private_chat_is_told(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    await private_couple(lite)
    told = await lite.handle(privately(ALICE, "/path strong"))
    assert sorted(m.to.chat_id for m in told) == ["dm-u1", "dm-u2"]
    assert all("Alice chose a path for you both" in m.text for m in told)
    assert all("/remind 8pm" in m.text for m in told)  # no daily step time yet


async def test_each_side_gets_its_steps_in_its_own_private_chat_only(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    [choice] = await lite.handle(privately(BOB, "/perspective"))
    await lite.handle(privately(BOB, action=choice.buttons[1].action))  # working to earn trust
    await lite.handle(said(ALICE, "/path breach"))
    day1 = await us.day(FIRST)
    day2 = await us.day(FIRST + timedelta(days=1))
    [side] = BREACH.steps(1, 2, "doubted")
    [bob] = [m for m in day2[dm(BOB)] if "Your check-in" in m.text]
    assert f"🧭 Just for you, on your path: {side.text}" in bob.text and bob.protect
    everyone_else = [m.text for chat, ms in day2.items() if chat != dm(BOB) for m in ms]
    assert not any(side.text in t or "on your path:" in t for t in everyone_else)
    # Day 1 of week 1 has no step for that side: nothing is added.
    assert not any("on your path:" in m.text for m in day1[dm(BOB)])


async def test_crisis_help_rests_the_path_without_telling_the_partner_why(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    [choice] = await lite.handle(privately(BOB, "/perspective"))
    await lite.handle(privately(BOB, action=choice.buttons[1].action))
    await lite.handle(said(ALICE, "/path breach"))
    await us.day(FIRST)
    clock.set("2026-11-22T10:00:00+00:00")
    help_ = await lite.handle(privately(ALICE, CRISIS))
    assert [m.to for m in help_] == [dm(ALICE)]
    assert "your partner isn't told why" in help_[0].text and "counsellor" in help_[0].text
    assert "/path resume" in help_[0].text
    quiet = await us.day(FIRST + timedelta(days=1))
    step = step_of(quiet)
    assert step.startswith("🌿 A quiet day on your path")
    bob_reads = "\n".join(
        m.text
        for chat in (HOME, dm(BOB))
        for m in quiet.get(chat, [])
        if not m.text.startswith("🌿 Your")  # the look back, with both scores
    )
    for word in ("crisis", "support", "help", "Alice", "counsellor", "safe"):
        assert word not in bob_reads, word
    assert "on your path: " + BREACH.steps(1, 2, "doubted")[0].text not in bob_reads
    assert "Just for you" not in bob_reads
    [where] = await lite.handle(said(BOB, "/path"))
    assert "resting for a few days" in where.text and "Alice" not in where.text
    [not_his] = await lite.handle(privately(BOB, "/path resume"))
    assert not_his.text.startswith("🌿 Your path is resting for a few days")  # as /path says
    assert "Alice" not in not_his.text and "support" not in not_his.text
    assert step_of(await us.day(FIRST + timedelta(days=2))).startswith("🌿 A quiet day")
    # Alice chooses to bring the steps back: the week goes on where it stood (day 2).
    [back] = await lite.handle(privately(ALICE, "/path resume"))
    assert "come back" in back.text and back.to == dm(ALICE)
    resumed = step_of(await us.day(FIRST + timedelta(days=3)))
    assert resumed.startswith("🧭 Week 1 of 12") and BREACH.steps(1, 2)[0].text in resumed


async def test_the_rest_lifts_by_itself_after_a_week(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    await lite.handle(said(ALICE, "/path worry"))
    await us.day(FIRST)
    clock.set("2026-11-22T10:00:00+00:00")
    await lite.handle(privately(BOB, CRISIS))
    for offset in range(1, REST_DAYS + 1):
        step = step_of(await us.day(FIRST + timedelta(days=offset), take_part=False))
        assert step.startswith("🌿 A quiet day"), offset
    back = step_of(await us.day(FIRST + timedelta(days=REST_DAYS + 1)))
    assert back.startswith("🧭 Week 1 of 8") and "step:" in back
    assert actions.parse(actions.path_choice("resume")) == actions.PathChoice("resume")


async def test_crisis_words_after_the_day_s_step_rest_from_the_next_day_and_no_step_repeats(
    lite: Tandem, clock: FixedClock, messenger: FakeMessenger
) -> None:
    us = Couple(lite, clock, messenger)
    await us.start()
    await lite.handle(said(ALICE, "/path breach"))
    first = step_of(await us.day(FIRST))
    assert BREACH.steps(1, 1)[0].text in first
    clock.set("2026-11-21T22:00:00+00:00")  # the day's step went out at 20:00
    await lite.handle(privately(ALICE, CRISIS))
    for offset in (1, 2):
        quiet = step_of(await us.day(FIRST + timedelta(days=offset), take_part=False))
        assert quiet.startswith("🌿 A quiet day"), offset
    clock.set("2026-11-24T09:00:00+00:00")
    [back] = await lite.handle(privately(ALICE, "/path resume"))
    assert "come back" in back.text
    resumed = step_of(await us.day(FIRST + timedelta(days=3)))
    assert BREACH.steps(1, 2)[0].text in resumed  # the next step, not Saturday's again
    assert BREACH.steps(1, 1)[0].text not in resumed


async def test_change_path_says_which_path_you_are_on_not_free_practice(lite: Tandem) -> None:
    await couple(lite)
    await lite.handle(said(ALICE, "/path breach"))
    [offer] = await lite.handle(said(ALICE, action=actions.path_choice("change")))
    assert "You're on Rebuilding after a breach now" in offer.text
    assert "Free practice now" not in offer.text
