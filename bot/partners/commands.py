"""Joining as a partner, linking each partner's private chat, leaving, and choosing a side."""

from __future__ import annotations

from bot import actions
from bot.command import Command, Who, not_a_partner
from bot.context import DM_BY_COMMAND, Ctx, partners_of
from bot.errors import UserError
from bot.messages import Address, Button, Outgoing, SendStatus
from bot.partners import pairing
from bot.setup import flow as setup
from bot.store import Member

SIDE_LABELS = {
    "doubting": "I'm learning to trust again",
    "doubted": "I'm working to earn trust back",
    "none": "Both, or I'd rather not say",
}


async def cmd_start(ctx: Ctx, args: str) -> list[Outgoing]:
    texts = ctx.library.texts
    if args:
        raise UserError(
            "That start code isn't one I know. Open the link again, or ask for a fresh one with /pair."
        )
    assert ctx.member is not None
    joining = not ctx.member.partner
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    if ctx.private and ctx.member.private_chat is None:
        await pairing.link(ctx.session, ctx.space, ctx.member, ctx.incoming.to.chat_id)
    partners = await partners_of(ctx.session, ctx.space)
    if joining and len(partners) == 2 and not ctx.private:
        return [ctx.reply(both_here(partners))]
    welcome = texts.welcome_private if ctx.private and texts.welcome_private else texts.welcome
    first = await setup.begin(ctx) if joining and len(partners) == 1 else None
    if first is not None:  # a space's very first /start: the welcome, then the set-up's question
        question, buttons = first
        return [ctx.reply(f"{welcome.strip()}\n\n{question}", buttons=buttons)]
    return [ctx.reply(welcome)]


def both_here(partners: list[Member]) -> str:
    """The second partner is greeted as the second: the welcome was said already, here."""
    first, second = (p.display_name for p in partners)
    return (
        f"💞 You're both here now, {first} and {second}. What happens next:\n"
        "• each day, a small step for the two of you, and a check-in you each answer with a tap;\n"
        "• your answers stay yours until you've both answered, then you see them together;\n"
        "• /pair links your own private chat with me, for what you'd rather answer alone;\n"
        "• /today has today's question; /remind 8pm and /checkin 9pm choose your times.\n"
        "Tandem is a daily habit helper, not therapy; /support is there if you need more."
    )


async def pair_here(ctx: Ctx) -> list[Outgoing]:
    """Links the asker's private chat: a deep link, or (Discord) a DM Tandem opens itself."""
    if ctx.member is not None and ctx.member.private_chat is not None:
        return [ctx.whisper("🔒 Your private chat with me is already linked to this space. ✓")]
    if ctx.space.platform in DM_BY_COMMAND:
        return await _pair_by_dm(ctx)
    code = await pairing.make_code(ctx.session, ctx.space, "group", ctx.now)
    # A tap can be answered to the tapper alone (Telegram opens the link in one go); a typed
    # /pair in a group is answered in the group, where anyone in it may use the link.
    answer = ctx.whisper if ctx.incoming.action is not None and ctx.can_whisper else ctx.reply
    return [
        answer(
            "🔒 Tap to open your private chat with me. Your check-ins, notes and your side's "
            "prompts will come there; the scores are shown here once you've both answered. "
            "(The link works for 24 hours, for members of this chat.)",
            buttons=(Button("Open my private chat", start=code),),
        )
    ]


async def _pair_by_dm(ctx: Ctx) -> list[Outgoing]:
    chat = ctx.incoming.private_chat
    if chat is None:
        raise UserError(
            "I couldn't open a private chat with you here. Try /pair again in a moment."
        )
    assert ctx.member is not None
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    await pairing.link(ctx.session, ctx.space, ctx.member, chat)
    services, member_id, to = ctx.services, ctx.member.id, ctx.incoming.to
    hello = Outgoing(
        Address(ctx.space.platform, chat),
        "🔒 This is your private chat with Tandem. Your check-ins come here; only you see your "
        "answers until you've both answered. /perspective chooses prompts for your side.",
    )

    async def greet() -> list[Outgoing]:
        result = await services.messenger.send(hello)
        if result.status is SendStatus.DELIVERED:
            return [
                Outgoing(to, "🔒 Linked: I'll message you privately from now on.", private=True)
            ]
        await services.unlink(member_id)
        return [
            Outgoing(
                to,
                "I couldn't send you a direct message: your DMs from this server seem closed. "
                "Allow direct messages (server name › Privacy Settings), then /pair again. Until "
                "then, answer here; your taps are confirmed only to you.",
                private=True,
            )
        ]

    ctx.after_commit.append(greet)
    return []


async def cmd_pair(ctx: Ctx, args: str) -> list[Outgoing]:
    if not ctx.private:
        return await pair_here(ctx)
    assert ctx.member is not None
    if not ctx.space.direct:
        return [
            ctx.reply(
                "This private chat is already linked to your shared chat. ✓ "
                "To leave that space, send /unpair."
            )
        ]
    if len(await partners_of(ctx.session, ctx.space)) >= 2:
        return [ctx.reply("You two are already paired. ✓ To leave, send /unpair.")]
    if ctx.space.platform in DM_BY_COMMAND:
        raise UserError(
            "On this platform, pair in a server channel you both can see: type /pair there."
        )
    await pairing.make_partner(ctx.session, ctx.space, ctx.member, ctx.now)
    code = await pairing.make_code(ctx.session, ctx.space, "invite", ctx.now, ctx.member)
    return [
        ctx.reply(
            f"💌 Forward this message to your partner. The button opens Tandem for them and joins "
            f"the two of you ({ctx.member.display_name}'s invitation; it works once, for 24 "
            "hours). Your prompts and the check-in reveals will then reach both of you.",
            buttons=(Button("Join as a couple", start=code),),
        )
    ]


async def cmd_unpair(ctx: Ctx, args: str) -> list[Outgoing]:
    member = ctx.member
    if member is None:  # someone in the chat who never joined: nothing of theirs to leave
        raise UserError("You're not part of this space, so there's nothing to leave.")
    private = ctx.private_address()
    notices = await pairing.leave(ctx.session, ctx.space, member)
    bye = (
        "👋 You've left this space. Your past answers stay in the couple's history; "
        "/forget me erases them. /start joins again."
    )
    replies = [Outgoing(private, bye)] if private is not None else [ctx.whisper(bye)]
    return replies + [n for n in notices if n.to != private]


async def cmd_perspective(ctx: Ctx, args: str) -> list[Outgoing]:
    buttons = tuple(Button(label, actions.side(key)) for key, label in SIDE_LABELS.items())
    text = (
        "Which side of rebuilding trust are you on? It only chooses some extra prompts for you, "
        "in private. It is never announced, and never shown to your partner."
    )
    if ctx.can_whisper:
        return [ctx.whisper(text, buttons=buttons)]
    return [
        ctx.reply(
            "Let's choose that in your private chat with me, where only you see it: "
            "send /perspective there. No private chat yet? /pair links one."
        )
    ]


async def choose_side(ctx: Ctx, side: str | None) -> list[Outgoing]:
    if ctx.member is None or not ctx.member.partner:
        raise not_a_partner(ctx)
    ctx.member.side = side
    ctx.session.add(ctx.member)
    said = SIDE_LABELS[side or "none"]
    extra = (
        " Now and then, a prompt for your side comes to your private chat."
        if side and ctx.member.private_chat
        else " Link your private chat with /pair to get prompts for your side."
        if side
        else ""
    )
    return [ctx.whisper(f"Saved: “{said}”. Only you see this.{extra}")]


async def pair_tapped(ctx: Ctx, action: actions.Simple) -> list[Outgoing]:
    return await pair_here(ctx)


async def side_tapped(ctx: Ctx, action: actions.Side) -> list[Outgoing]:
    return await choose_side(ctx, action.side)


COMMANDS = (
    Command("start", "Say hello and join this space as a partner", cmd_start, "The two of you"),
    Command(
        "pair",
        "Link your private chat with Tandem to this space",
        cmd_pair,
        "The two of you",
    ),
    Command(
        "unpair",
        "Leave this space (from either chat)",
        cmd_unpair,
        "The two of you",
        who=Who.PARTNER,
    ),
    Command(
        "perspective",
        "Choose your side, privately: it picks some prompts for you",
        cmd_perspective,
        "The two of you",
        who=Who.PARTNER,
    ),
)
