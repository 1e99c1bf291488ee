"""Tandem: `handle(Incoming)` and `dispatch_due()`, the only entry points adapters call."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions, checkins, pairing, promises, safety
from bot.chart import ChartData, Charts
from bot.commands import (
    COMMANDS,
    MAX_COMMAND,
    NOT_A_PARTNER,
    choose_side,
    confirm_forget,
    pair_here,
    split_command,
)
from bot.content import TOPICS, Library
from bot.context import AfterCommit, Ctx, Place, partners_of, reschedule, shared_addresses
from bot.delivery import LEASE, Dispatcher, DispatchReport, Job, Partner, checkin_targets
from bot.errors import UserError
from bot.flood import SLOW_DOWN, FloodGate, Verdict
from bot.housekeeping import Housekeeper, Retention
from bot.messages import Address, Attachment, Button, Event, Incoming, Outgoing
from bot.ports import Clock, Messenger
from bot.render import day_label
from bot.store import (
    CheckinAnswer,
    Delivery,
    Member,
    Promise,
    Schedule,
    Space,
    Store,
    erase_space,
    insert_new,
    move_space,
    once,
)
from bot.weekly import LookBack, look_back

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. Nothing was changed; please try again in a moment."
DEFAULT_TOPICS = ",".join(TOPICS)


class Tandem:
    """The platform-neutral bot: every decision about what to say, when and to whom."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        library: Library,
        messenger: Messenger,
        *,
        default_timezone: str = "UTC",
        grace: timedelta = timedelta(hours=3),
        platforms: frozenset[str] | None = None,
        charts: Charts | None = None,
        retention: Retention | None = None,
        flood: FloodGate | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.library = library
        self.messenger = messenger
        self.default_timezone = default_timezone
        self.charts = charts or Charts()
        self.retention = retention or Retention()
        self.housekeeper = Housekeeper(store, clock, self.retention)
        # None: no flood protection (the composition root always gives one).
        self.flood = flood
        self.dispatcher = Dispatcher(
            store,
            clock,
            library,
            messenger,
            grace,
            platforms,
            composers={"weekly": self._compose_weekly, "promise": self._compose_follow_ups},
            next_ask=promises.next_after_ask,
        )

    async def dispatch_due(self) -> DispatchReport:
        return await self.dispatcher.dispatch_due()

    async def recover(self) -> int:
        return await self.dispatcher.recover()

    async def move(self, old: Address, new: Address) -> None:
        """The chat got a new address (a Telegram group became a supergroup): its space follows."""
        async with self.store.unit() as session:
            space = await self._space(session, old, create=False)
            if space is not None:
                await move_space(session, space, new.chat_id)
                log.info("space %s moved to a new chat id", space.id)

    async def scrub(self) -> None:
        await self.store.scrub()

    def close(self) -> None:
        """Stops the chart workers; the store is closed by its owner."""
        self.charts.close()

    async def picture(self, data: ChartData | None, name: str) -> Attachment | None:
        """The chart as a PNG attachment with its one-line summary; None if there is nothing
        to draw, or if drawing failed (the words go out all the same)."""
        if data is None:
            return None
        try:
            png = await self.charts.render(data)
        except Exception as err:
            log.error("drawing a chart failed with %s", type(err).__name__)
            return None
        return Attachment(name, png, "image/png", alt=data.summary())

    async def _compose_weekly(self, jobs: list[Job]) -> list[Outgoing | None]:
        """The look backs for a batch of spaces: each chart starts drawing as soon as its
        space is read, while the next one is read."""
        now = self.clock.now()
        backs: dict[int, LookBack | None] = {}
        drawing: dict[int, asyncio.Task[Attachment | None]] = {}

        async def draw(back: LookBack) -> Attachment | None:
            return await self.picture(back.chart, f"look-back-{back.end.isoformat()}.png")

        try:
            async with self.store.read() as session:
                for space_id in dict.fromkeys(job.space_id for job in jobs):
                    space = await session.get(Space, space_id)
                    back = (
                        None
                        if space is None
                        else await look_back(session, space, now, self.library)
                    )
                    backs[space_id] = back
                    if back is not None and back.chart is not None:
                        drawing[space_id] = asyncio.create_task(draw(back))
            pictures = dict(zip(drawing, await asyncio.gather(*drawing.values()), strict=True))
        finally:
            for task in drawing.values():
                task.cancel()
        composed: list[Outgoing | None] = []
        for job in jobs:
            back = backs[job.space_id]
            composed.append(
                None
                if back is None
                else Outgoing(
                    job.address, back.text, attachment=pictures.get(job.space_id), protect=True
                )
            )
        return composed

    async def _compose_follow_ups(self, jobs: list[Job]) -> list[Outgoing | None]:
        """Each promise's question, if it is still open by the time it is sent."""
        composed: list[Outgoing | None] = []
        async with self.store.read() as session:
            for job in jobs:
                promise = await session.get(Promise, int(job.content_id))
                member = await session.get(Member, promise.member_id) if promise else None
                if promise is None or member is None or promise.status != "open":
                    composed.append(None)
                    continue
                composed.append(
                    promises.follow_up(
                        job.address, promise, member.display_name, bool(job.recipient)
                    )
                )
        return composed

    async def unlink(self, member_id: int | None) -> None:
        """Forgets a partner's private chat (Tandem may not write there); they answer in the group."""
        async with self.store.unit() as session:
            member = await session.get(Member, member_id)
            if member is not None:
                member.private_chat = None
                session.add(member)

    async def erase(self, ctx: Ctx) -> None:
        await erase_space(ctx.session, ctx.space)
        ctx.after_commit.append(self.scrub)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Answers one incoming event; bad input gets a friendly reply and changes nothing."""
        if self.flood is not None and self.flood.counts(incoming):
            # Before any database work, so a flood costs next to nothing.
            verdict = self.flood.check(incoming.to, incoming.user_id, self.clock.now())
            if verdict is Verdict.IGNORE:
                return []
            if verdict is Verdict.SLOW_DOWN:
                return [Outgoing(incoming.to, SLOW_DOWN, private=True)]
        after: list[AfterCommit] = []
        try:
            async with self.store.unit() as session:
                replies = await self._route(session, incoming, after)
        except UserError as err:
            return [Outgoing(incoming.to, err.message, private=True)]
        except Exception as err:
            # Exception text can quote SQL parameters (a note, say): log only the type and frames.
            frames = "".join(traceback.format_tb(err.__traceback__))
            log.error("handling failed with %s\n%s", type(err).__name__, frames)
            return [Outgoing(incoming.to, SORRY, private=True)]
        for action in after:
            more = await action()
            if more:
                replies.extend(more)
        return replies

    # ---- Finding where an event belongs ------------------------------------------------------

    async def _locate(
        self, session: AsyncSession, incoming: Incoming
    ) -> tuple[Space | None, Member | None, Place]:
        """The space, the speaking partner (if a private chat is linked) and the place."""
        if incoming.direct:
            linked = await pairing.linked_member(session, incoming.to)
            if linked is not None and linked[1].user_id == incoming.user_id:
                return linked[0], linked[1], Place.PRIVATE
        space = await self._space(session, incoming.to, create=False)
        direct = incoming.direct or (space is not None and space.direct)
        return space, None, Place.PRIVATE if direct else Place.SHARED

    async def _route(
        self, session: AsyncSession, incoming: Incoming, after: list[AfterCommit]
    ) -> list[Outgoing]:
        if incoming.event is Event.REMOVED:
            return await self._removed(session, incoming.to)
        if incoming.event is Event.ADDED and incoming.direct:
            # A private chat opens with "/start" (or "/start <code>" from a pairing link) right
            # behind this event: that message greets or links, so nothing is made here.
            return []
        name, args = split_command(incoming.text) if incoming.text.startswith("/") else ("", "")
        if incoming.direct and name == "start" and safety.is_support_start(args):
            return [self._support_here(incoming, args)]
        if incoming.direct and name == "start" and args:
            return await self._redeem(session, incoming, args)
        space, member, place = await self._locate(session, incoming)
        is_command = bool(name)
        if not (incoming.event or incoming.action or is_command):
            if space is None or not incoming.reply_to or not incoming.user_id:
                return self._private_words(incoming, space)  # else chatter, not ours to read
            member = member or await self._known_member(session, space, incoming.user_id)
            if member is None:
                return self._private_words(incoming, space)
            recipient = member.id if place is Place.PRIVATE and member.private_chat else 0
            delivery = await checkins.find_checkin_by_message(
                session, space, incoming.reply_to, recipient or 0
            )
            if delivery is None:
                return self._private_words(incoming, space)
            ctx = Ctx(self, session, space, member, incoming, self.clock.now(), place, after)
            return await self._note(ctx, delivery, incoming.text)
        was_active = space is not None and space.active
        if not was_active:
            space = await self._space(session, incoming.to, create=True, direct=incoming.direct)
        assert space is not None
        if member is None and incoming.user_id:
            # Only joining makes a member row; anyone else is looked up, never written down.
            joins = name in ("start", "pair") or incoming.action == actions.PAIR
            member = (
                await pairing.member_for(
                    session, space, incoming.user_id, incoming.user_name, self.clock.now()
                )
                if joins
                else await self._known_member(session, space, incoming.user_id)
            )
        ctx = Ctx(self, session, space, member, incoming, self.clock.now(), place, after)
        if incoming.event is Event.ADDED:
            # Telegram may report a DM's start twice (the event and /start): greet once.
            return [] if was_active else [ctx.reply(self.library.texts.welcome)]
        if incoming.action:
            return await self._action(ctx, incoming.action)
        if len(incoming.text) > MAX_COMMAND:
            raise UserError(
                "That's more than I can read in one command. Try something short, like /remind 8pm."
            )
        command = COMMANDS.get(name)
        if command is None:
            raise UserError(
                f"I don't know /{name[:30]}. /help lists what I can do, for example /remind 8pm."
            )
        if not command.allows(args, ctx.is_partner, incoming.manager):
            raise UserError(NOT_A_PARTNER)
        return await command.handler(ctx, args)

    async def _removed(self, session: AsyncSession, to: Address) -> list[Outgoing]:
        """Tandem was removed from a chat, or blocked in a private chat."""
        space = await self._space(session, to, create=False)
        linked = await pairing.linked_member(session, to)
        if linked is None:
            if space is not None:
                space.active = False
                space.deactivated_at = self.clock.now()
                session.add(space)
            return []
        # A partner blocked Tandem in their private chat: only their link ends. With no group,
        # a space living in that chat moves to the other partner's chat (off if there is none).
        home, member = linked
        member.private_chat = None
        session.add(member)
        if home.direct and home.chat_id == to.chat_id:
            others = [p for p in await partners_of(session, home) if p.private_chat]
            if others and others[0].private_chat is not None:
                home.chat_id = others[0].private_chat
            else:
                home.active = False
                home.deactivated_at = self.clock.now()
            session.add(home)
        return []

    async def _space(
        self, session: AsyncSession, to: Address, *, create: bool, direct: bool = False
    ) -> Space | None:
        result = await session.exec(
            select(Space).where(Space.platform == to.platform, Space.chat_id == to.chat_id)
        )
        space = result.first()
        if space is None and create:
            fresh = Space(
                platform=to.platform,
                chat_id=to.chat_id,
                timezone=self.default_timezone,
                topics=DEFAULT_TOPICS,
                created_at=self.clock.now(),
                direct=direct,
            )
            await insert_new(
                session, Space, ["platform", "chat_id"], **fresh.model_dump(exclude={"id"})
            )
            result = await session.exec(
                select(Space).where(Space.platform == to.platform, Space.chat_id == to.chat_id)
            )
            space = result.one()
        elif space is not None and create and not space.active:
            # Added back to the chat: its settings return, and nothing stale is sent.
            space.active = True
            space.deactivated_at = None
            session.add(space)
            found = await session.exec(select(Schedule).where(Schedule.space_id == space.id))
            for schedule in found.all():
                reschedule(session, schedule, space.timezone, self.clock.now())
        return space

    @staticmethod
    async def _known_member(session: AsyncSession, space: Space, user_id: str) -> Member | None:
        found = await session.exec(
            select(Member).where(Member.space_id == space.id, Member.user_id == user_id)
        )
        return found.first()

    def _private_words(self, incoming: Incoming, space: Space | None) -> list[Outgoing]:
        """Free text typed to Tandem in a private chat is read for crisis words only: a gentle
        word back if it holds one, else nothing (and never a log line either way)."""
        if not incoming.direct:
            return []
        found = self.library.safety
        needs = found.needs(incoming.text)
        if not needs:
            return []
        zone = space.timezone if space is not None else self.default_timezone
        reply = found.crisis_reply(needs, zone)
        return [Outgoing(incoming.to, reply, private=True, protect=True)]

    def _support_here(self, incoming: Incoming, args: str) -> Outgoing:
        """A /support button from a shared chat opened this private chat: the answer comes here,
        for the region that chat's timezone suggested."""
        code = args.partition("-")[2] or None
        text = self.library.safety.support(self.library.texts.support, None, code)
        return Outgoing(incoming.to, text, protect=True)

    async def _redeem(self, session: AsyncSession, incoming: Incoming, code: str) -> list[Outgoing]:
        """ "/start <code>" in a private chat: a pairing link was opened."""
        now = self.clock.now()
        pair = await pairing.find_code(session, code, now)
        space = await session.get(Space, pair.space_id)
        if space is None or not space.active:
            raise UserError("That space isn't active any more. Ask for a fresh link with /pair.")
        group = Address(space.platform, space.chat_id)
        if pair.kind == "group" and not await self.messenger.is_member(group, incoming.user_id):
            raise UserError(
                "I couldn't confirm that you're in the group this link belongs to, so I didn't "
                "link you. If you are in it, try the link again in a minute."
            )
        inviter = await session.get(Member, pair.inviter_id) if pair.inviter_id else None
        if inviter is not None and inviter.user_id == incoming.user_id:
            raise UserError("That's your own invitation: forward it to your partner to open.")
        member = await pairing.member_for(session, space, incoming.user_id, incoming.user_name, now)
        await pairing.make_partner(session, space, member, now)
        await pairing.link(session, space, member, incoming.to.chat_id)
        if pair.kind == "invite":
            await session.delete(pair)  # an invitation works once
        replies = [
            Outgoing(
                incoming.to,
                "🔒 Linked. This is your private chat with Tandem: your check-ins come here, and "
                "only you see your answers until you've both answered. /perspective chooses a "
                "few prompts for your side, privately. /unpair leaves.",
            )
        ]
        if inviter is not None and inviter.private_chat:
            replies.append(
                Outgoing(
                    Address(space.platform, inviter.private_chat),
                    f"💛 {member.display_name} joined you. Prompts and check-in reveals now reach "
                    "both of you.",
                )
            )
        return replies

    # ---- Buttons -----------------------------------------------------------------------------

    async def _action(self, ctx: Ctx, raw: str) -> list[Outgoing]:
        action = actions.parse(raw)
        if isinstance(action, actions.Simple):
            if action.name == actions.FORGET_NO:
                return [ctx.whisper("Kept as it was. Nothing was erased.")]
            return await pair_here(ctx)
        if isinstance(action, actions.Forget):
            return await confirm_forget(ctx, action)
        if isinstance(action, actions.Side):
            return await choose_side(ctx, action.side)
        if not ctx.is_partner:
            raise UserError(
                "You're not one of this space's partners yet. Send /start here to join, then tap "
                "again. Nothing was saved."
            )
        if isinstance(action, actions.Answer) and ctx.member is not None:
            delivery = await checkins.find_checkin(ctx.session, ctx.space, action.delivery_id)
            return await self._tap(ctx, delivery, action.score)
        if isinstance(action, actions.Note) and ctx.member is not None:
            delivery = await checkins.find_checkin(ctx.session, ctx.space, action.delivery_id)
            return await self._note(ctx, delivery, ctx.incoming.text)
        if isinstance(action, actions.ShareNote) and ctx.member is not None:
            return await self._share_note(ctx, action)
        if isinstance(action, actions.Kept):
            return await promises.answer(ctx, action)
        if isinstance(action, actions.SharePromise):
            return await promises.share(ctx, action)
        raise UserError("That button isn't one I know any more. /help lists what I can do.")

    async def _tap(self, ctx: Ctx, delivery: Delivery, score: int) -> list[Outgoing]:
        assert ctx.member is not None
        partners = await partners_of(ctx.session, ctx.space)
        skip = score == actions.SKIP
        rec = await checkins.record(
            ctx.session,
            ctx.space,
            ctx.member,
            partners,
            delivery,
            ctx.now,
            score=None if skip else score,
            skip=skip,
        )
        said = "skipped" if skip else f"{score}/5"
        verb = "changed to" if rec.changed else "saved:"
        head = f"Thanks, {ctx.member.display_name}. Your check-in for {day_label(rec.day)} is {verb} {said}."
        replies: list[Outgoing] = []
        if rec.waiting_for:
            names = " and ".join(p.display_name for p in rec.waiting_for)
            rule = checkins.rule_of(ctx.space, rec.answer)
            if rule == "together":
                head += f" You'll both see the answers when {names} has answered."
            elif rule == "never":
                head += " It stays private to you."
            replies += await self._nudge(ctx, rec)
        elif rec.complete_now:
            replies += await self._reveal(ctx, rec, partners)
        if ctx.space.reveal == rec.answer.reveal == "instant" and not rec.changed:
            replies += [
                Outgoing(to, f"{ctx.member.display_name}: {said} for {day_label(rec.day)}.")
                for to in shared_addresses(ctx.space, partners)
            ]
        return [ctx.whisper(head), *replies]

    async def _nudge(self, ctx: Ctx, rec: checkins.Recorded) -> list[Outgoing]:
        """One gentle word to a partner who hasn't answered yet; never a second one that day."""
        assert ctx.member is not None and ctx.space.id is not None
        nudges: list[Outgoing] = []
        for other in rec.waiting_for:
            assert other.id is not None
            if not await once(
                ctx.session, ctx.space.id, checkins.nudge_key(rec.day, other.id), ctx.now
            ):
                continue
            to = ctx.private_address(other)
            if to is None and not ctx.space.direct:
                to = Address(ctx.space.platform, ctx.space.chat_id)
            if to is None:
                continue
            nudges.append(
                Outgoing(
                    to,
                    f"🌙 {ctx.member.display_name} has answered the check-in for "
                    f"{day_label(rec.day)}. {other.display_name}, whenever you're ready; "
                    "there's no rush.",
                )
            )
        return nudges

    async def _reveal(
        self, ctx: Ctx, rec: checkins.Recorded, partners: list[Member]
    ) -> list[Outgoing]:
        pairs = await checkins.day_answers(ctx.session, ctx.space, rec.day)
        pairs = [(m, a) for m, a in pairs if any(p.id == m.id for p in partners)]
        text = checkins.reveal_text(ctx.space, rec.day, pairs, rec.streak)
        return [Outgoing(to, text, protect=True) for to in shared_addresses(ctx.space, partners)]

    async def _note(self, ctx: Ctx, delivery: Delivery, text: str) -> list[Outgoing]:
        assert ctx.member is not None
        if not ctx.member.partner:
            raise UserError(
                "You're not one of this space's partners yet. Send /start here to join. "
                "Your note wasn't saved."
            )
        # A typed reply in the shared chat is already in front of everyone there: shared by
        # nature. A note written in private, or in a form only its author sees, is private.
        in_public = not ctx.private and ctx.incoming.action is None
        partners = await partners_of(ctx.session, ctx.space)
        earlier = await checkins.answer_of(ctx.session, ctx.space, ctx.member, delivery.local_date)
        shared_before = earlier is not None and earlier.share_note
        rec = await checkins.record(
            ctx.session,
            ctx.space,
            ctx.member,
            partners,
            delivery,
            ctx.now,
            note=text,
            share_note=in_public,
        )
        hint = (
            ""
            if rec.answer.score is not None or rec.answer.skipped
            else " Tap a number on the check-in to add your score too."
        )
        # A note in crisis words stays with its author at the reveal, whatever was chosen
        # before, until they choose "Share at the reveal" again (a later, harmless addition
        # typed in the shared chat does not share it).
        words = ctx.tandem.library.safety.needs
        if words(text) or (not shared_before and rec.answer.note and words(rec.answer.note)):
            rec.answer.share_note = False
            ctx.session.add(rec.answer)
        care = safety.crisis_replies(
            ctx, text, "This note stays private at the reveal, unless you choose to share it again."
        )
        head = f"📝 Note saved with your check-in for {day_label(rec.day)}, {ctx.member.display_name}.{hint}"
        if in_public:
            return [ctx.whisper(head), *care]
        assert rec.answer.id is not None
        buttons = (
            Button("Keep private", actions.share_note(rec.answer.id, False)),
            Button("Share at the reveal", actions.share_note(rec.answer.id, True)),
        )
        return [
            ctx.whisper(head + " It's private unless you choose to share it.", buttons=buttons),
            *care,
        ]

    async def _share_note(self, ctx: Ctx, action: actions.ShareNote) -> list[Outgoing]:
        assert ctx.member is not None
        answer = await ctx.session.get(CheckinAnswer, action.answer_id)
        if answer is None or answer.member_id != ctx.member.id:
            raise UserError("Only the note's author can choose that. Nothing was changed.")
        answer.share_note = action.share
        ctx.session.add(answer)
        assert ctx.space.id is not None
        revealed = await checkins.done_day(ctx.session, ctx.space, answer.local_date)
        if not action.share:
            return [ctx.whisper("🔒 Kept private: only you will see this note.")]
        never = checkins.rule_of(ctx.space, answer) == "never"
        if revealed and not never and answer.note:
            partners = await partners_of(ctx.session, ctx.space)
            line = f"📝 {ctx.member.display_name} added a note to {day_label(answer.local_date)}: “{answer.note}”"
            return [ctx.whisper("Shared.")] + [
                Outgoing(to, line, protect=True) for to in shared_addresses(ctx.space, partners)
            ]
        if never:
            return [ctx.whisper("Noted; with /reveal never, notes stay private all the same.")]
        return [
            ctx.whisper("👍 Your note will be shown with the answers, once you've both answered.")
        ]

    async def prepare_checkin_now(self, ctx: Ctx) -> AfterCommit:
        """Writes an on-demand check-in for every recipient, and returns the send for after commit."""
        assert ctx.space.id is not None
        partners = await partners_of(ctx.session, ctx.space)
        question = self.library.scored_question(ctx.space.question_id)
        home = Address(ctx.space.platform, ctx.space.chat_id)
        known = [
            Partner(p.id or 0, ctx.space.id, p.private_chat, p.side, p.side_cycle) for p in partners
        ]
        jobs: list[Job] = []
        for target in checkin_targets(home, ctx.space.direct, known):
            delivery = Delivery(
                space_id=ctx.space.id,
                kind="checkin",
                recipient=target.recipient,
                variant=target.variant,
                local_date=ctx.today,
                due_at=ctx.now,
                status="claimed",
                content_id=question.id,
                claimed_by=self.dispatcher.instance,
                lease_until=ctx.now + LEASE,
            )
            ctx.session.add(delivery)
            await ctx.session.flush()
            assert delivery.id is not None
            jobs.append(
                Job(
                    delivery.id,
                    ctx.space.id,
                    "checkin",
                    ctx.today,
                    question.id,
                    target.address,
                    recipient=target.recipient,
                    variant=target.variant,
                )
            )
        asked_here = any(j.address == ctx.incoming.to for j in jobs)

        async def send() -> list[Outgoing] | None:
            await self.dispatcher.send_jobs(jobs)
            if asked_here:
                return None
            return [ctx.whisper("💬 Sent to your private chats with me.")]

        return send
