"""/today, /answers and the buttons on today's question: answer in words, pass, swap, react."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlmodel import col, select

from bot import actions
from bot.command import Command, Kind, Option, Who
from bot.context import Ctx, partners_of, shared_addresses
from bot.delivery import OUT
from bot.errors import UserError
from bot.messages import Address, Button, Outgoing
from bot.paths.library import DailyQuestion
from bot.questions import today as days
from bot.questions import words
from bot.render import day_label, one_line
from bot.safety.replies import care_replies
from bot.store import Delivery, Member, QuestionAnswer, lock_space, once

PER_PAGE = 5
ANSWER_LABEL = "✍️ Answer"
PASS_LABEL = "Pass on this one"
SWAP_LABEL = "Another question"
WORDS_HINT = "Reply to this message with your answer (up to 1,000 characters)."
REPLY_HINTS = {"console": "Send /reply and your answer (up to 1,000 characters)."}
TALK = (
    "💬 {name} would like to talk about {day}'s question with you. Ten minutes is enough: one "
    "of you says what the question brought up, the other listens and says back what they "
    "heard, then swap. No answer is wrong, and nobody is to blame for one."
)


def question_buttons(day: date) -> tuple[Button, ...]:
    return (
        Button(ANSWER_LABEL, actions.today(day, "answer")),
        Button(PASS_LABEL, actions.today(day, "pass")),
        Button(SWAP_LABEL, actions.today(day, "swap")),
    )


def question_lines(question: DailyQuestion) -> str:
    return (
        f"❓ Today's question: {question.text}\n"
        "Answer in your own words, or pass. Your answers are shown together once you've both "
        "answered."
    )


async def cmd_today(ctx: Ctx, args: str) -> list[Outgoing]:
    assert ctx.space.id is not None and ctx.member is not None
    question = await days.todays(ctx.session, ctx.space.id, ctx.today, ctx.now)
    text = question_lines(question)
    if await words.revealed(ctx.session, ctx.space, ctx.today):
        return [ctx.reply(text + "\nYou've both answered it: /answers shows the answers.")]
    row = await words.answer_of(ctx.session, ctx.space, ctx.member, ctx.today)
    if ctx.can_whisper and words.took_part(row):
        assert row is not None
        text += "\n" + words.said(ctx.member, row, ctx.space, ctx.member)
        text += f" You can change it until you've both answered: tap {ANSWER_LABEL}."
    buttons = question_buttons(ctx.today)
    return [ctx.reply(text, buttons=buttons, protect=ctx.private)]


def _where_words_go(ctx: Ctx) -> None:
    """Words are typed where only their author sees them: a private chat, or a form."""
    if not ctx.private and not (ctx.incoming.text and ctx.incoming.whisper):
        raise UserError(
            "To answer in words that only you see until you've both answered, open your private "
            "chat with me (/pair links it), then send /today there."
        )


async def still_open(ctx: Ctx, day: date) -> bool:
    """A day's question can be answered until the next check-in goes out: today's always, and
    yesterday's after midnight until today's check-in comes (words begun at 23:50 still count,
    as a late tap on yesterday's check-in does); an older day's, never."""
    assert ctx.space.id is not None
    if day == ctx.today:
        return True
    if day != ctx.today - timedelta(days=1):
        return False
    found = await ctx.session.exec(
        select(Delivery.id).where(
            Delivery.space_id == ctx.space.id,
            Delivery.kind == "checkin",
            Delivery.local_date == ctx.today,
            col(Delivery.status).in_(OUT),
        )
    )
    return found.first() is None


def _closed(day: date) -> UserError:
    return UserError(
        f"That was {day_label(day)}'s question, closed when today's check-in came. "
        "Today's is waiting: send /today."
    )


async def _this_day(ctx: Ctx, action: actions.Today) -> DailyQuestion:
    assert ctx.space.id is not None
    if not await still_open(ctx, action.day):
        raise _closed(action.day)
    return await days.todays(ctx.session, ctx.space.id, action.day, ctx.now)


async def tapped(ctx: Ctx, action: actions.Today) -> list[Outgoing]:
    if action.choice in ("thanks", "talk"):
        return await react(ctx, action)
    await lock_space(ctx.session, ctx.space)
    question = await _this_day(ctx, action)
    assert ctx.member is not None
    if action.choice == "swap":
        if action.day != ctx.today:
            raise UserError(
                "Only today's question can be swapped. Yesterday's can still be answered or passed."
            )
        return await swap(ctx, question)
    if action.choice == "pass":
        row = await words.row_for(ctx.session, ctx.space, ctx.member, action.day, question, ctx.now)
        changed = row.text is not None
        row.text, row.passed, row.held, row.asked_at = None, True, False, None
        row.updated_at = ctx.now
        which = "today's" if action.day == ctx.today else f"{day_label(action.day)}'s"
        head = f"👌 Passed on {which} question. That counts as taking part."
        if changed:
            head = f"👌 Your answer is taken back: you've passed on {which} question."
        return await _saved(ctx, row, question, head)
    if ctx.incoming.text:  # words from a form only its author sees (Discord's modal)
        _where_words_go(ctx)
        return await save(ctx, question, ctx.incoming.text, action.day)
    _where_words_go(ctx)
    row = await words.row_for(ctx.session, ctx.space, ctx.member, action.day, question, ctx.now)
    row.asked_at = ctx.now
    ctx.session.add(row)
    hint = REPLY_HINTS.get(ctx.space.platform, WORDS_HINT)
    return [
        ctx.reply(
            f"✍️ {question.text}\n{hint} Only you see it until you've both answered.",
            asks=True,
            protect=True,
        )
    ]


async def save(
    ctx: Ctx, question: DailyQuestion, text: str, day: date | None = None
) -> list[Outgoing]:
    assert ctx.member is not None
    cleaned = words.clean(text)
    day = day or ctx.today
    row = await words.row_for(ctx.session, ctx.space, ctx.member, day, question, ctx.now)
    changed = words.took_part(row)
    # Crisis words are looked at first: such an answer stays with its author at the reveal.
    row.held = bool(ctx.library.safety.needs(cleaned))
    row.text, row.passed, row.asked_at, row.updated_at = cleaned, False, None, ctx.now
    care = await care_replies(ctx, cleaned, "Your answer stays with you at the reveal.")
    head = "✍️ Your answer is " + ("changed." if changed else "saved.")
    if day != ctx.today:
        head = f"✍️ Your answer to {day_label(day)}'s question is " + (
            "changed." if changed else "saved."
        )
    head += f" “{one_line(cleaned)}”"
    return [*care, *await _saved(ctx, row, question, head)]


async def _saved(
    ctx: Ctx, row: QuestionAnswer, question: DailyQuestion, head: str
) -> list[Outgoing]:
    partners = await partners_of(ctx.session, ctx.space)
    if not await words.finish(ctx.session, ctx.space, row, partners, ctx.now):
        rule = words.rule_of(ctx.space, row)
        after = (
            " It stays with you (/reveal never)."
            if rule == "never"
            else " You'll both see the answers once you've both answered; until then you can "
            f"change it: tap {ANSWER_LABEL} again (/today shows it) and send the new words."
        )
        return [ctx.whisper(head + after, protect=True)]
    pairs = await words.day_rows(ctx.session, ctx.space, row.local_date, partners)
    text, buttons = words.reveal_text(ctx.space, row.local_date, question, pairs)
    out = [
        Outgoing(to, text, buttons=buttons, protect=True)
        for to in shared_addresses(ctx.space, partners)
    ]
    if ctx.incoming.to in {o.to for o in out}:
        return out
    return [ctx.whisper(head, protect=True), *out]


async def swap(ctx: Ctx, question: DailyQuestion) -> list[Outgoing]:
    assert ctx.space.id is not None
    partners = await partners_of(ctx.session, ctx.space)
    pairs = await words.day_rows(ctx.session, ctx.space, ctx.today, partners)
    if any(words.took_part(a) for _, a in pairs):
        raise UserError(
            "Today's question already has an answer or a pass, so it stays for today. "
            "Tomorrow brings a new one."
        )
    fresh = await days.swap(ctx.session, ctx.space.id, ctx.today, ctx.now)
    if fresh is None:
        raise UserError("You've had today's one swap already. Tomorrow brings a new question.")
    name = ctx.member.display_name if ctx.member else "Someone"
    text = f"🔄 {one_line(name)} asked for another question today.\n" + question_lines(fresh)
    buttons = question_buttons(ctx.today)
    out = [Outgoing(to, text, buttons=buttons) for to in shared_addresses(ctx.space, partners)]
    if ctx.incoming.to not in {o.to for o in out}:
        out.insert(0, ctx.reply(question_lines(fresh), buttons=buttons))
    return out


async def react(ctx: Ctx, action: actions.Today) -> list[Outgoing]:
    assert ctx.member is not None and ctx.space.id is not None
    partners = await partners_of(ctx.session, ctx.space)
    other = next((p for p in partners if p.id != ctx.member.id), None)
    day = action.day
    theirs = await words.answer_of(ctx.session, ctx.space, other, day) if other else None
    is_out = await words.revealed(ctx.session, ctx.space, day)
    if other is None or theirs is None or not words.shown(ctx.space, theirs, is_out):
        raise UserError(f"There's no answer from your partner for {day_label(day)} to react to.")
    key = f"q{action.choice}:{day.isoformat()}:{ctx.member.id}"
    if not await once(ctx.session, ctx.space.id, key, ctx.now):
        return [ctx.whisper("You've already sent that for this question.")]
    name = one_line(ctx.member.display_name)
    if action.choice == "thanks":
        to = ctx.private_address(other) or _home(ctx, partners)
        note = f"❤️ {name} says thank you for your answer to {day_label(day)}'s question."
        return [ctx.whisper("❤️ Sent."), *([Outgoing(to, note)] if to else [])]
    text = TALK.format(name=name, day=day_label(day))
    out = [Outgoing(to, text) for to in shared_addresses(ctx.space, partners)]
    if ctx.incoming.to not in {o.to for o in out}:
        out.insert(0, ctx.whisper("💬 Suggested to you both."))
    return out


def _home(ctx: Ctx, partners: list[Member]) -> Address | None:
    found = shared_addresses(ctx.space, partners)
    return found[0] if found and not ctx.space.direct else None


async def words_in_reply(ctx: Ctx) -> list[Outgoing] | None:
    """A reply in a partner's private chat after they tapped "Answer": their words for the
    day's question. None when they asked for none (then it is not ours to read)."""
    if ctx.member is None or not ctx.private or not ctx.member.partner:
        return None
    await lock_space(ctx.session, ctx.space)
    row = await words.answer_of(ctx.session, ctx.space, ctx.member, ctx.today)
    if row is None or row.asked_at is None:
        yesterday = ctx.today - timedelta(days=1)
        row = await words.answer_of(ctx.session, ctx.space, ctx.member, yesterday)
        if row is None or row.asked_at is None:
            return None
        if not await still_open(ctx, yesterday):
            return await _given_back(ctx, row)
    question = days.by_id().get(row.question_id)
    if question is None:
        return None
    return await save(ctx, question, ctx.incoming.text, row.local_date)


async def _given_back(ctx: Ctx, row: QuestionAnswer) -> list[Outgoing]:
    """Words for yesterday's question after today's check-in came: the day is closed, and the
    words are given back to their author with the day named, never dropped without a word."""
    row.asked_at = None  # asked once: the next words are not for that day either
    ctx.session.add(row)
    cleaned = words.clean(ctx.incoming.text)
    care = await care_replies(ctx, cleaned, "These words stay with you.")  # help comes first
    return [
        *care,
        ctx.whisper(
            f"{day_label(row.local_date)}'s question closed when today's check-in came, so "
            f"these words weren't saved: “{one_line(cleaned)}”. Today's question is waiting: "
            "send /today.",
            protect=True,
        ),
    ]


async def cmd_answers(ctx: Ctx, args: str) -> list[Outgoing]:
    page = 1
    if args.strip():
        if not (args.strip().isascii() and args.strip().isdigit()) or int(args) < 1:
            raise UserError("Choose a page by its number, for example /answers 2.")
        page = int(args)
    return [await answers_page(ctx, page)]


async def page_tapped(ctx: Ctx, action: actions.AnswersPage) -> list[Outgoing]:
    return [await answers_page(ctx, max(action.page, 1))]


async def answers_page(ctx: Ctx, page: int) -> Outgoing:
    assert ctx.member is not None
    if not ctx.private:
        raise UserError(
            "Your past answers are shown only in your private chat with me: send /answers there "
            "(/pair links it)."
        )
    found = await words.history(ctx.session, ctx.space, ctx.member)
    if not found:
        return ctx.reply("No answers yet. /today shows today's question.")
    pages = (len(found) + PER_PAGE - 1) // PER_PAGE
    page = min(page, pages)
    lines = [f"📖 Your questions and answers, newest first (page {page} of {pages}):"]
    for day, question, pairs in found[(page - 1) * PER_PAGE : page * PER_PAGE]:
        lines.append("")
        lines.append(f"{day_label(day)}: {question.text if question else '(a retired question)'}")
        out = await words.revealed(ctx.session, ctx.space, day)
        for member, answer in pairs:
            if member.id != ctx.member.id and not out:
                continue
            lines.append(words.said(member, answer, ctx.space, ctx.member))
        if not out:
            lines.append("(Not revealed yet: shown once you've both answered.)")
    buttons: list[Button] = []
    if page > 1:
        buttons.append(Button("‹ Newer", actions.answers_page(page - 1)))
    if page < pages:
        buttons.append(Button("Older ›", actions.answers_page(page + 1)))
    return ctx.reply("\n".join(lines), buttons=tuple(buttons), protect=True)


def in_checkin(message: Outgoing, question: DailyQuestion, day: date) -> Outgoing:
    """A partner's private check-in with the day's question in it: one message, not two."""
    buttons = message.buttons
    # "🔒 Answer privately" stays last, under the question's buttons: it is about where to
    # answer both, and the question's three keep a row of their own beside the check-in's.
    last = buttons[-1:] if buttons and buttons[-1].action == actions.PAIR else ()
    return replace(
        message,
        text=f"{message.text}\n\n{question_lines(question)}",
        buttons=(*buttons[: len(buttons) - len(last)], *question_buttons(day), *last),
    )


COMMANDS = (
    Command(
        "today",
        "Today's question: answer in your own words, together",
        cmd_today,
        "Daily rhythm",
        "/today",
        Who.PARTNER,
    ),
    Command(
        "answers",
        "Past questions and your answers (in your private chat)",
        cmd_answers,
        "The two of you",
        "/answers [page]",
        Who.PARTNER,
        (Option("page", "Which page, 1 the newest", Kind.NUMBER, max_value=999),),
    ),
)
