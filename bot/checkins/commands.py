"""The check-in's settings: when answers are shown (/reveal) and which question is scored
(/question)."""

from __future__ import annotations

from bot.checkins.answers import REVEAL_MODES
from bot.command import Command, Kind, Option, Who
from bot.context import Ctx, partners_of, shared_addresses
from bot.errors import UserError
from bot.messages import Outgoing


async def cmd_reveal(ctx: Ctx, args: str) -> list[Outgoing]:
    mode = args.strip().lower()
    if not mode:
        lines = [f"👀 Reveal: {ctx.space.reveal}, {REVEAL_MODES[ctx.space.reveal]}."]
        lines += [f"/reveal {key}: {text}" for key, text in REVEAL_MODES.items()]
        return [ctx.reply("\n".join(lines))]
    if mode not in REVEAL_MODES:
        raise UserError("Choose together, never or instant: for example /reveal together.")
    before = ctx.space.reveal
    if mode == before:
        return [ctx.reply(f"👀 Reveal is already {mode}: {REVEAL_MODES[mode]}.")]
    ctx.space.reveal = mode
    ctx.session.add(ctx.space)
    if OPENNESS[mode] < OPENNESS[before]:
        return [
            ctx.reply(
                f"✅ Reveal set to {mode}: {REVEAL_MODES[mode]}. This covers earlier days too."
            )
        ]
    # Showing more only ever covers answers given from now on, and both partners hear of it
    # wherever they answer, so nobody's next score is shown without their knowing.
    text = (
        f"👀 {ctx.member.display_name if ctx.member else 'Someone'} set the reveal to {mode}: "
        f"{REVEAL_MODES[mode]}. This applies to answers given from now on; answers already "
        "given keep the rule they were given under."
    )
    addresses = shared_addresses(ctx.space, await partners_of(ctx.session, ctx.space))
    if ctx.incoming.to not in addresses:
        return [ctx.reply(text)] + [Outgoing(to, text) for to in addresses]
    return [Outgoing(to, text) for to in addresses]


OPENNESS = {"never": 0, "together": 1, "instant": 2}


async def cmd_question(ctx: Ctx, args: str) -> list[Outgoing]:
    questions = ctx.library.questions
    current = ctx.library.scored_question(ctx.space.question_id)
    if not args:
        lines = ["📏 The scored question, the same every day so the scores compare:"]
        lines += [
            f"{'✓' if q.id == current.id else '·'} {i}. {q.text}"
            for i, q in enumerate(questions, 1)
        ]
        lines.append("The others take turns as an optional reflection. Choose with /question 3.")
        return [ctx.reply("\n".join(lines))]
    # isdigit() alone takes "²" or "٣", which int() refuses: only the digits 0-9.
    if not (args.isascii() and args.isdigit()) or not 1 <= int(args) <= len(questions):
        raise UserError(
            f"Choose the question by its number, 1 to {len(questions)}: for example /question 1. "
            "/question shows the list."
        )
    chosen = questions[int(args) - 1]
    ctx.space.question_id = chosen.id
    ctx.session.add(ctx.space)
    return [ctx.reply(f"✅ From the next check-in, the scored question is: {chosen.text}")]


COMMANDS = (
    Command(
        "reveal",
        "When scores are shown: together, never or instant",
        cmd_reveal,
        "The two of you",
        "/reveal [together|never|instant]",
        Who.PARTNER_TO_CHANGE,
        (
            Option(
                "mode",
                "together (default), never, or instant",
                choices=tuple((m, m) for m in REVEAL_MODES),
            ),
        ),
    ),
    Command(
        "question",
        "See or choose the scored check-in question",
        cmd_question,
        "The two of you",
        "/question [number]",
        Who.PARTNER_TO_CHANGE,
        (Option("number", "The question's number from the list", Kind.NUMBER, max_value=50),),
    ),
)
