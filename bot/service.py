"""Tandem: `handle(Incoming)` and `dispatch_due()`, the only entry points adapters call."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import checkins
from bot.commands import (
    COMMANDS,
    FORGET_NO,
    FORGET_YES,
    MAX_COMMAND,
    Ctx,
    reschedule,
    split_command,
)
from bot.content import TOPICS, Library
from bot.delivery import Dispatcher, DispatchReport, Job
from bot.errors import UserError
from bot.messages import Address, Event, Incoming, Outgoing
from bot.ports import Clock, Messenger
from bot.render import day_label
from bot.store import Delivery, Member, Schedule, Space, Store, erase_space, move_space

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
    ) -> None:
        self.store = store
        self.clock = clock
        self.library = library
        self.messenger = messenger
        self.default_timezone = default_timezone
        self.dispatcher = Dispatcher(store, clock, library, messenger, grace, platforms)

    async def dispatch_due(self) -> DispatchReport:
        return await self.dispatcher.dispatch_due()

    async def recover(self) -> int:
        return await self.dispatcher.recover()

    async def may_configure(self, to: Address, user_id: str) -> bool:
        """Whether this person may change the space's settings without a platform admin right.

        Yes for the space's registered partners (they ran /start or answered a check-in), and for
        anyone while nobody is registered yet, so a new chat can be set up.
        """
        async with self.store.unit() as session:
            space = await self._space(session, to, create=False)
            if space is None:
                return True
            found = await session.exec(
                select(Member.user_id).where(Member.space_id == space.id).limit(50)
            )
            members = set(found.all())
            return not members or user_id in members

    async def move(self, old: Address, new: Address) -> None:
        """The chat got a new address (a Telegram group became a supergroup): its space follows."""
        async with self.store.unit() as session:
            space = await self._space(session, old, create=False)
            if space is not None:
                await move_space(session, space, new.chat_id)
                log.info("space %s moved to a new chat id", space.id)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Answers one incoming event; bad input gets a friendly reply and changes nothing."""
        after: list[Callable[[], Awaitable[None]]] = []
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
            await action()
        return replies

    async def _route(
        self, session: AsyncSession, incoming: Incoming, after: list[Callable[[], Awaitable[None]]]
    ) -> list[Outgoing]:
        if incoming.event is Event.REMOVED:
            space = await self._space(session, incoming.to, create=False)
            if space is not None:
                space.active = False
                session.add(space)
            return []
        is_command = incoming.text.startswith("/")
        if not (incoming.event or incoming.action or is_command):
            space = await self._space(session, incoming.to, create=False)
            if space is None or not incoming.reply_to or not incoming.user_id:
                return []  # ordinary chatter is not ours to read
            delivery = await checkins.find_checkin_by_message(session, space, incoming.reply_to)
            if delivery is None:
                return []
            author = await self._member(session, space, incoming)
            return await self._note(session, space, author, delivery, incoming)
        found = await self._space(session, incoming.to, create=False)
        was_active = found is not None and found.active
        # Only a new or switched-off chat needs the creating (or reactivating) lookup.
        space = found if was_active else await self._space(session, incoming.to, create=True)
        assert space is not None
        name, args = split_command(incoming.text)
        registers = incoming.action is not None or name == "start"
        member = (
            await self._member(session, space, incoming) if incoming.user_id and registers else None
        )
        now = self.clock.now()
        ctx = Ctx(self, session, space, member, incoming, now, after)
        if incoming.event is Event.ADDED:
            # Telegram may report a DM's start twice (the event and /start): greet once.
            return [] if was_active else [ctx.reply(self.library.texts.welcome)]
        if incoming.action:
            return await self._action(ctx, incoming.action)
        if len(incoming.text) > MAX_COMMAND:
            raise UserError(
                "That's more than I can read in one command. Try something short, like /remind 8pm."
            )
        handler = COMMANDS.get(name)
        if handler is None:
            raise UserError(
                f"I don't know /{name[:30]}. /help lists what I can do, for example /remind 8pm."
            )
        return await handler(ctx, args)

    async def _space(self, session: AsyncSession, to: Address, *, create: bool) -> Space | None:
        result = await session.exec(
            select(Space).where(Space.platform == to.platform, Space.chat_id == to.chat_id)
        )
        space = result.first()
        if space is None and create:
            space = Space(
                platform=to.platform,
                chat_id=to.chat_id,
                timezone=self.default_timezone,
                topics=DEFAULT_TOPICS,
                created_at=self.clock.now(),
            )
            session.add(space)
            await session.flush()
        elif space is not None and create and not space.active:
            # Added back to the chat: its settings return, and nothing stale is sent.
            space.active = True
            session.add(space)
            found = await session.exec(select(Schedule).where(Schedule.space_id == space.id))
            for schedule in found.all():
                reschedule(session, schedule, space.timezone, self.clock.now())
        return space

    async def _member(self, session: AsyncSession, space: Space, incoming: Incoming) -> Member:
        result = await session.exec(
            select(Member).where(Member.space_id == space.id, Member.user_id == incoming.user_id)
        )
        member = result.first()
        name = (incoming.user_name or "someone").strip()[:128] or "someone"
        if member is None:
            assert space.id is not None
            member = Member(
                space_id=space.id,
                user_id=incoming.user_id,
                display_name=name,
                joined_at=self.clock.now(),
            )
            session.add(member)
            await session.flush()
        elif member.display_name != name:
            member.display_name = name
            session.add(member)
        return member

    async def _action(self, ctx: Ctx, action: str) -> list[Outgoing]:
        if action == FORGET_YES:
            await erase_space(ctx.session, ctx.space)
            ctx.after_commit.append(self.store.scrub)
            return [
                ctx.reply(
                    "🧹 Done. Everything Tandem kept about this chat is erased. "
                    "If you want to start again some day, send /start."
                )
            ]
        if action == FORGET_NO:
            return [ctx.reply("Kept as it was. Nothing was erased.", private=True)]
        kind, _, rest = action.partition(":")
        if kind == "a" and ctx.member is not None:
            delivery_id, _, score = rest.partition(":")
            if delivery_id.isdigit() and score.isdigit():
                delivery = await checkins.find_checkin(ctx.session, ctx.space, int(delivery_id))
                return await self._tap(ctx, delivery, int(score))
        if kind == "n" and ctx.member is not None and rest.isdigit():
            delivery = await checkins.find_checkin(ctx.session, ctx.space, int(rest))
            return await self._note(ctx.session, ctx.space, ctx.member, delivery, ctx.incoming)
        raise UserError("That button isn't one I know any more. /help lists what I can do.")

    async def _tap(self, ctx: Ctx, delivery: Delivery, score: int) -> list[Outgoing]:
        assert ctx.member is not None
        rec = await checkins.record(
            ctx.session, ctx.space, ctx.member, delivery, ctx.now, score=score
        )
        name = ctx.member.display_name
        verb = "changed to" if rec.changed else "saved as"
        replies = [
            ctx.reply(
                f"Thanks, {name}. Your check-in for {day_label(rec.day)} is {verb} {score}/5.",
                private=True,
            )
        ]
        if rec.both_now:
            days = f"{rec.streak} day{'s' if rec.streak != 1 else ''}"
            replies.append(
                ctx.reply(
                    f"💛 You've both checked in for {day_label(rec.day)}. Streak: {days} in a row."
                )
            )
            if milestone := checkins.milestone_text(rec.streak):
                replies.append(ctx.reply(milestone))
        return replies

    async def _note(
        self,
        session: AsyncSession,
        space: Space,
        member: Member,
        delivery: Delivery,
        incoming: Incoming,
    ) -> list[Outgoing]:
        rec = await checkins.record(
            session, space, member, delivery, self.clock.now(), note=incoming.text
        )
        hint = (
            "" if rec.score is not None else " Tap a number on the check-in to add your score too."
        )
        return [
            Outgoing(
                incoming.to,
                f"📝 Note saved with your check-in for {day_label(rec.day)}, "
                f"{member.display_name}.{hint}",
                private=True,
            )
        ]

    async def prepare_checkin_now(self, ctx: Ctx) -> Callable[[], Awaitable[None]]:
        """Writes an on-demand check-in, and returns the send to run once that is committed."""
        assert ctx.space.id is not None
        question = self.library.question_for(ctx.today.toordinal())
        delivery = Delivery(
            space_id=ctx.space.id,
            kind="checkin",
            local_date=ctx.today,
            due_at=ctx.now,
            status="claimed",
            content_id=question.id,
        )
        ctx.session.add(delivery)
        await ctx.session.flush()
        assert delivery.id is not None
        job = Job(delivery.id, ctx.space.id, "checkin", ctx.today, question.id, ctx.incoming.to)

        async def send() -> None:
            await self.dispatcher.send_jobs([job])

        return send
