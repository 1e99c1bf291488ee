"""Tandem: `handle(Incoming)` and `dispatch_due()`, the only entry points adapters call.

The router: it finds the space and the member, opens the transaction, applies flood
protection, hands the event to the room that owns it (bot/registry.py) and returns its replies.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import actions
from bot.chart import ChartData, Charts
from bot.checkins import answers, taps
from bot.command import MAX_COMMAND, not_a_partner, split_command
from bot.content import OPT_IN_TOPICS, TOPICS, Library
from bot.context import AfterCommit, Ctx, Place, reschedule
from bot.crisis.texts import is_support_start
from bot.delivery import Dispatcher, DispatchReport, Job, render
from bot.delivery.riders import left_out, riders, woven
from bot.errors import UserError
from bot.flood import SLOW_DOWN, FloodGate, Verdict
from bot.housekeeping import Housekeeper, Retention
from bot.lookback.compose import compose_weekly
from bot.messages import Address, Attachment, Event, Incoming, Outgoing
from bot.partners import joining, pairing
from bot.paths.compose import side_prompts, with_path_steps, with_side_steps
from bot.ports import Clock, Messenger
from bot.promises.compose import compose_follow_ups
from bot.promises.keeping import next_after_ask
from bot.questions import commands as questions
from bot.questions.compose import with_questions
from bot.registry import COMMANDS, press, press_anywhere, talk_to
from bot.repair import commands as repair
from bot.safety import replies as safety
from bot.schedule import local_date
from bot.setup import flow as setup
from bot.store import Delivery, Member, Schedule, Space, Store, insert_new, move_space

log = logging.getLogger(__name__)

JOIN = actions.run("start")  # a talk button's /start joins, as the typed one does
SORRY = "Sorry, something went wrong on my side. Nothing was changed; please try again in a moment."
DEFAULT_TOPICS = ",".join(t for t in TOPICS if t not in OPT_IN_TOPICS)


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
        # Told how long each answer took (the reply-latency metric); wall time, not the clock.
        self.on_reply: Callable[[float], None] | None = None
        # None: no flood protection (the composition root always gives one).
        self.flood = flood
        self.dispatcher = Dispatcher(
            store,
            clock,
            library,
            messenger,
            grace,
            platforms,
            composers={
                "weekly": self._compose_weekly,
                "promise": self._compose_follow_ups,
                "side": self._compose_sides,
            },
            finishers={"checkin": self._with_questions, "prompt": self._with_path_steps},
            next_ask=next_after_ask,
            on_gone=self._chat_gone,
        )

    async def _compose_weekly(self, jobs: list[Job]) -> list[Outgoing | None]:
        return await compose_weekly(jobs, self.store, self.clock, self.library, self.picture)

    async def _with_questions(self, jobs: list[Job], messages: list[Outgoing]) -> list[Outgoing]:
        asked = await with_questions(self.store, self.clock.now(), jobs, messages)
        try:
            asked = await with_side_steps(self.store, jobs, asked)
        except Exception as err:  # the check-in goes out with its question, never not at all
            log.error("adding side steps failed with %s", type(err).__name__)
        return await self._with_riders(jobs, asked)

    async def _with_path_steps(self, jobs: list[Job], messages: list[Outgoing]) -> list[Outgoing]:
        stepped = await with_path_steps(self.store, self.clock.now(), jobs, messages)
        return await self._with_riders(jobs, stepped)

    async def _with_riders(self, jobs: list[Job], messages: list[Outgoing]) -> list[Outgoing]:
        """Each message with what rides in it (bot/delivery/riders.py): the day's step above,
        as the step itself would read (a path's, or the rotation's), and a side's own prompt
        below (on Free practice; on a path their side's step is in the check-in already). The
        batch's riders are composed together, as their own kinds would be."""
        found = await riders(self.store, jobs)
        steps = [
            (i, job) for i, carried in enumerate(found) for job in carried if job.kind == "prompt"
        ]
        sides = [
            (i, job) for i, carried in enumerate(found) for job in carried if job.kind == "side"
        ]
        if not steps and not sides:
            return messages
        plain = [render(job, self.library) for _, job in steps]
        above = await with_path_steps(self.store, self.clock.now(), [j for _, j in steps], plain)
        below = await side_prompts(self.store, self.library, [j for _, j in sides]) if sides else []
        # A side's own prompt left out (on a path): its carried row was not sent after all.
        unsent = [job.delivery_id for (_, job), m in zip(sides, below, strict=True) if m is None]
        await left_out(self.store, unsent)
        out = list(messages)
        for index in {i for i, _ in steps} | {i for i, _ in sides}:
            out[index] = woven(
                out[index],
                [m for (i, _), m in zip(steps, above, strict=True) if i == index],
                [m for (i, _), m in zip(sides, below, strict=True) if i == index],
            )
        return out

    async def _compose_sides(self, jobs: list[Job]) -> list[Outgoing | None]:
        return await side_prompts(self.store, self.library, jobs)

    async def _chat_gone(self, job: Job) -> Outgoing | None:
        return await joining.chat_gone(self.store, self.library, job, self.clock.now())

    async def _compose_follow_ups(self, jobs: list[Job]) -> list[Outgoing | None]:
        return await compose_follow_ups(self.store, jobs)

    @property
    def instance(self) -> str:
        return self.dispatcher.instance

    @property
    def key_place(self) -> str:
        return self.store.key_place

    async def send_jobs(self, jobs: list[Job]) -> DispatchReport:
        return await self.dispatcher.send_jobs(jobs)

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

    async def unlink(self, member_id: int | None) -> None:
        """Forgets a partner's private chat (Tandem may not write there); they answer in the group."""
        async with self.store.unit() as session:
            member = await session.get(Member, member_id)
            if member is not None:
                member.private_chat = None
                session.add(member)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Answers one incoming event; bad input gets a friendly reply and changes nothing."""
        started = time.perf_counter()
        try:
            return await self._answer(incoming)
        finally:
            if self.on_reply is not None:
                self.on_reply(time.perf_counter() - started)

    async def _answer(self, incoming: Incoming) -> list[Outgoing]:
        if self.flood is not None and self.flood.counts(incoming) and not self._help(incoming):
            # Before any database work, so a flood costs next to nothing.
            verdict = self.flood.check(incoming.to, incoming.user_id, self.clock.now())
            if verdict is Verdict.IGNORE:
                return []
            if verdict is Verdict.SLOW_DOWN:
                return [Outgoing(incoming.to, SLOW_DOWN, private=True)]
        # "Remove this from the chat" touches no table: no space is made for the chat it's in.
        anywhere = await press_anywhere(self.messenger, incoming)
        if anywhere is not None:
            return anywhere
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

    def _help(self, incoming: Incoming) -> bool:
        """/support, its private chat opening, words of danger, or removing a word of help from
        the chat: never held back by flood protection, however much was sent before (someone may
        be in danger, or watched)."""
        if incoming.action is not None and isinstance(
            actions.parse(incoming.action), actions.Remove
        ):
            return True
        name, args = split_command(incoming.text) if incoming.text.startswith("/") else ("", "")
        if name == "support" or (name == "start" and is_support_start(args)):
            return True
        return bool(incoming.text) and bool(self.library.safety.needs(incoming.text))

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
            space = await self._space(session, incoming.to, create=False)
            return await joining.removed(session, incoming.to, space, self.clock.now())
        if incoming.event is Event.ADDED and incoming.direct:
            # A private chat opens with "/start" (or "/start <code>" from a pairing link) right
            # behind this event: that message greets or links, so nothing is made here.
            return []
        name, args = split_command(incoming.text) if incoming.text.startswith("/") else ("", "")
        if incoming.direct and name == "start" and is_support_start(args):
            return [safety.support_here(self.library, incoming, args)]
        if incoming.direct and name == "start" and args:
            return await joining.redeem(session, incoming, args, self.clock.now(), self.messenger)
        space, member, place = await self._locate(session, incoming)
        is_command = bool(name)
        words = not (incoming.event or incoming.action or is_command)
        if words:
            # What the set-up asked this member for (their city, a time) comes first: in a
            # group, only the member asked, and only within the hour (bot/setup/waiting.py).
            awaited = await self._awaited(session, incoming, space, member, place, after)
            if awaited is not None:
                return awaited
            if not (incoming.spoken_to and incoming.user_id):
                return self._private_words(incoming, space)  # else chatter, not ours to read
            if space is not None and incoming.reply_to:
                member = member or await self._known_member(session, space, incoming.user_id)
                found = await self._reply_words(session, incoming, space, member, place, after)
                if found is not None:
                    return found
            if not incoming.text.strip():
                return []  # nothing said (a platform sends no such message)
            # Crisis words are looked at first, before anything is written down.
            care = await self._words_alone(session, incoming, space, member)
            if care:
                return care
        was_active = space is not None and space.active
        if not was_active:
            space = await self._space(session, incoming.to, create=True, direct=incoming.direct)
        assert space is not None
        if member is None and incoming.user_id:
            # Only joining makes a member row; anyone else is looked up, never written down.
            joins = name in ("start", "pair") or incoming.action in (actions.PAIR, JOIN)
            member = (
                await pairing.member_for(
                    session, space, incoming.user_id, incoming.user_name, self.clock.now()
                )
                if joins
                else await self._known_member(session, space, incoming.user_id)
            )
        ctx = Ctx(
            self.library, self, session, space, member, incoming, self.clock.now(), place, after
        )
        if incoming.event is Event.ADDED:
            # Telegram may report a DM's start twice (the event and /start): greet once.
            return [] if was_active else [ctx.reply(self.library.texts.welcome)]
        if is_command:  # a typed command ends any question the set-up was waiting on
            await setup.forget_waits(ctx)
        if incoming.action:
            return await press(ctx, incoming.action)
        if words:
            return await talk_to(ctx)
        if len(incoming.text) > MAX_COMMAND:
            raise UserError(
                "That's more than I can read in one command. Try something short, like /remind 8pm."
            )
        command = COMMANDS.get(name)
        if command is None:
            raise UserError(
                f"I don't know /{name[:30]}. /help lists what I can do, for example /remind 8pm."
            )
        if not command.allows(args, ctx.is_partner):
            raise not_a_partner(ctx)
        return await command.handler(ctx, args)

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

    async def _reply_words(
        self,
        session: AsyncSession,
        incoming: Incoming,
        space: Space,
        member: Member | None,
        place: Place,
        after: list[AfterCommit],
    ) -> list[Outgoing] | None:
        """A reply to one of Tandem's messages that answers it: a note on a check-in, words for
        a /repair talk or today's question. None when it is plain words to answer as such."""
        assert incoming.reply_to is not None
        if member is None:
            return None
        delivery = await self._checkin_replied_to(session, incoming.reply_to, space, member, place)
        ctx = Ctx(
            self.library, self, session, space, member, incoming, self.clock.now(), place, after
        )
        if delivery is not None:
            return await taps.note(ctx, delivery, incoming.text)
        # Words for a /repair talk after "Write", or for today's question after "Answer"
        # (Telegram's reply box, /reply): the one that asked last.
        words = await repair.words_in_reply(ctx)
        return words if words is not None else await questions.words_in_reply(ctx)

    async def _awaited(
        self,
        session: AsyncSession,
        incoming: Incoming,
        space: Space | None,
        member: Member | None,
        place: Place,
        after: list[AfterCommit],
    ) -> list[Outgoing] | None:
        """Plain words the set-up asked this member for (their city, a time), read as that
        answer; None for any other words. Words of danger are never taken for a city, nor plain
        words Tandem answers as such ("what now?", "help"): the question waits meanwhile."""
        if space is None or not incoming.user_id or self.library.safety.needs(incoming.text):
            return None
        if self.library.talk.match(incoming.text) is not None:
            return None
        member = member or await self._known_member(session, space, incoming.user_id)
        if member is None or not member.partner:
            return None
        if incoming.reply_to and await self._checkin_replied_to(
            session, incoming.reply_to, space, member, place
        ):  # a note on a check-in is a note, whatever was asked before
            return None
        now = self.clock.now()
        ctx = Ctx(self.library, self, session, space, member, incoming, now, place, after)
        return await setup.typed(ctx)

    @staticmethod
    async def _checkin_replied_to(
        session: AsyncSession, reply_to: str, space: Space, member: Member, place: Place
    ) -> Delivery | None:
        """The check-in a reply answers: the member's own in their private chat, else the
        shared one."""
        recipient = member.id if place is Place.PRIVATE and member.private_chat else 0
        return await answers.find_checkin_by_message(session, space, reply_to, recipient or 0)

    def _private_words(self, incoming: Incoming, space: Space | None) -> list[Outgoing]:
        return safety.private_words(self.library, incoming, space, self.default_timezone)

    async def _words_alone(
        self, session: AsyncSession, incoming: Incoming, space: Space | None, member: Member | None
    ) -> list[Outgoing]:
        """Words typed freely in a private chat: crisis help if they need it, and then the
        space's path rests from couple exercises (bot/paths/), told to the writer alone."""
        said = self._private_words(incoming, space)
        if not said or space is None:
            return said
        today = local_date(self.clock.now(), space.timezone)
        line = await safety.rest_for_words(session, space, member, today)
        if line:
            said[0] = replace(said[0], text=f"{said[0].text}\n\n{line}")
        return said

    @staticmethod
    async def _known_member(session: AsyncSession, space: Space, user_id: str) -> Member | None:
        found = await session.exec(
            select(Member).where(Member.space_id == space.id, Member.user_id == user_id)
        )
        return found.first()
