"""Discord's limits, enforced by the fake as Discord enforces them: each rule just met passes and
just broken is refused (HTTP 400 50035, 404 10062, ...), on every route that carries a message.
The fake speaks plain HTTP here, so these tests prove its rules; the adapter's own output is
checked against them in test_discord_within_limits.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from tests.discord.discord_fakes import (
    ACK_WINDOW,
    ALICE,
    ALREADY_ACKNOWLEDGED,
    APP_ID,
    EPHEMERAL,
    HOME,
    INVALID_FORM,
    INVALID_WEBHOOK_TOKEN,
    MAX_CONTENT,
    MAX_CUSTOM_ID,
    MAX_LABEL,
    MAX_PER_ROW,
    MAX_ROWS,
    TOKEN_LIFETIME,
    UNKNOWN_INTERACTION,
    UNKNOWN_WEBHOOK,
    FakeDiscord,
    Refusal,
)

Body = dict[str, Any]


def button(label: str = "Yes", custom_id: str = "f:yes") -> Body:
    return {"type": 2, "style": 2, "label": label, "custom_id": custom_id}


def row(*buttons: Body) -> Body:
    return {"type": 1, "components": list(buttons)}


def content(n: int) -> Body:
    return {"content": "x" * n}


def custom_id(n: int) -> Body:
    return {"content": "hi", "components": [row(button(custom_id="c" * n))]}


def label(n: int) -> Body:
    return {"content": "hi", "components": [row(button("l" * n))]}


def rows(n: int) -> Body:
    return {"content": "hi", "components": [row(button(custom_id=f"r{i}")) for i in range(n)]}


def per_row(n: int) -> Body:
    return {"content": "hi", "components": [row(*(button(custom_id=f"b{i}") for i in range(n)))]}


# Each limit: the body at n, the limit, and where Discord names the broken rule in "errors".
LIMITS: dict[str, tuple[Callable[[int], Body], int, list[str]]] = {
    "content": (content, MAX_CONTENT, ["content"]),
    "custom_id": (custom_id, MAX_CUSTOM_ID, ["components", "0", "components", "0", "custom_id"]),
    "label": (label, MAX_LABEL, ["components", "0", "components", "0", "label"]),
    "rows": (rows, MAX_ROWS, ["components"]),
    "per_row": (per_row, MAX_PER_ROW, ["components", "0", "components"]),
}


class Rest:
    """Plain HTTP to the fake, the way discord.py would call each route."""

    def __init__(self, fake: FakeDiscord, session: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.session = session

    async def call(self, method: str, path: str, body: Body | None = None) -> tuple[int, Body]:
        async with self.session.request(method, self.fake.api + path, json=body) as response:
            return response.status, await response.json() if response.status != 204 else {}

    async def message(self, body: Body) -> tuple[int, Body]:
        return await self.call("POST", f"/channels/{HOME.id}/messages", body)

    async def callback(self, interaction: Body, kind: int, data: Body) -> tuple[int, Body]:
        path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
        return await self.call("POST", path, {"type": kind, "data": data})

    async def followup(self, interaction: Body, body: Body) -> tuple[int, Body]:
        return await self.call("POST", f"/webhooks/{APP_ID}/{interaction['token']}", body)

    async def edit(self, interaction: Body, body: Body) -> tuple[int, Body]:
        path = f"/webhooks/{APP_ID}/{interaction['token']}/messages/@original"
        return await self.call("PATCH", path, body)

    def interaction(self) -> Body:
        return self.fake.command("help", ALICE, HOME)

    async def acknowledged(self) -> Body:
        """An interaction the bot has deferred ("thinking…"), ready for follow-ups and edits."""
        interaction = self.interaction()
        assert (await self.callback(interaction, 5, {"flags": EPHEMERAL}))[0] == 200
        return interaction


@pytest.fixture
async def rest(fake: FakeDiscord) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as session:
        yield Rest(fake, session)


def rule_at(body: Body, path: list[str]) -> str:
    """The code of the rule Discord says was broken at this field."""
    errors = body["errors"]
    for key in path:
        errors = errors[key]
    return str(errors["_errors"][0]["code"])


def invalid(status: int, body: Body, path: list[str]) -> bool:
    return (status, body["code"], body["message"]) == (400, INVALID_FORM, "Invalid Form Body") and (
        rule_at(body, path) == "BASE_TYPE_MAX_LENGTH"
    )


@pytest.mark.parametrize("limit", list(LIMITS))
@pytest.mark.parametrize("route", ["message", "reply", "followup", "edit"])
async def test_each_message_limit_is_met_on_every_route_and_one_more_is_refused(
    rest: Rest, fake: FakeDiscord, route: str, limit: str
) -> None:
    make, most, path = LIMITS[limit]
    if route == "message":
        over, under = await rest.message(make(most + 1)), await rest.message(make(most))
    elif route == "reply":
        interaction = rest.interaction()
        # A refused response does not count as one: the same interaction may still be answered.
        over = await rest.callback(interaction, 4, make(most + 1))
        under = await rest.callback(interaction, 4, make(most))
    elif route == "followup":
        interaction = await rest.acknowledged()
        over = await rest.followup(interaction, make(most + 1))
        under = await rest.followup(interaction, make(most))
    else:
        interaction = await rest.acknowledged()
        over = await rest.edit(interaction, make(most + 1))
        under = await rest.edit(interaction, make(most))
    assert invalid(*over, path), over
    assert under[0] == 200, under
    kind = "callback" if route == "reply" else route
    assert fake.take_refusals() == [Refusal(kind, 400, INVALID_FORM, over[1]["errors"])]
    shown = [p for p in fake.timeline if p.shown]
    assert len(shown) == 1  # only the one within the limit was shown


async def test_an_ephemeral_flag_on_a_channel_post_is_refused_but_not_on_a_followup(
    rest: Rest, fake: FakeDiscord
) -> None:
    status, body = await rest.message({"content": "only for Alice", "flags": EPHEMERAL})
    assert (status, body["code"]) == (400, INVALID_FORM) and "flags" in body["errors"]
    assert (await rest.message({"content": "for you both", "flags": 4}))[0] == 200  # no embeds
    interaction = await rest.acknowledged()
    followup = await rest.followup(interaction, {"content": "only for Alice", "flags": EPHEMERAL})
    assert followup[0] == 200
    assert fake.public(HOME) == ["for you both"] and fake.private(ALICE) == ["only for Alice"]
    assert [r.code for r in fake.take_refusals()] == [INVALID_FORM]


async def test_an_interaction_is_acknowledged_within_3_s_of_its_dispatch_or_it_is_unknown(
    rest: Rest, fake: FakeDiscord
) -> None:
    in_time, late = rest.interaction(), rest.interaction()
    fake.backdate(in_time, ACK_WINDOW - 0.25)  # the trip to the fake stays well under 0.25 s
    fake.backdate(late, ACK_WINDOW + 0.05)
    assert (await rest.callback(in_time, 5, {}))[0] == 200
    status, body = await rest.callback(late, 5, {})
    assert (status, body) == (404, {"code": UNKNOWN_INTERACTION, "message": "Unknown interaction"})
    # Discord dropped it: its token takes no follow-up either.
    assert (await rest.followup(late, content(1)))[1]["code"] == UNKNOWN_WEBHOOK
    assert [(r.route, r.code) for r in fake.take_refusals()] == [
        ("callback", UNKNOWN_INTERACTION),
        ("followup", UNKNOWN_WEBHOOK),
    ]


async def test_an_interaction_is_acknowledged_once_and_followed_up_after(
    rest: Rest, fake: FakeDiscord
) -> None:
    interaction = rest.interaction()
    assert (await rest.followup(interaction, content(5)))[1]["code"] == UNKNOWN_WEBHOOK  # too soon
    assert (await rest.callback(interaction, 5, {}))[0] == 200
    status, body = await rest.callback(interaction, 4, content(5))
    assert (status, body["code"]) == (400, ALREADY_ACKNOWLEDGED)
    assert (await rest.followup(interaction, content(5)))[0] == 200
    assert (await rest.edit(interaction, content(6)))[0] == 200
    assert [(r.route, r.code) for r in fake.take_refusals()] == [
        ("followup", UNKNOWN_WEBHOOK),
        ("callback", ALREADY_ACKNOWLEDGED),
    ]


async def test_followups_and_edits_work_for_15_minutes_after_the_interaction(
    rest: Rest, fake: FakeDiscord
) -> None:
    interaction = await rest.acknowledged()
    fake.backdate(interaction, TOKEN_LIFETIME - 5)
    assert (await rest.followup(interaction, content(5)))[0] == 200
    assert (await rest.edit(interaction, content(6)))[0] == 200
    fake.backdate(interaction, 10)  # now 15 min 5 s old
    for status, body in [
        await rest.followup(interaction, content(5)),
        await rest.edit(interaction, content(6)),
    ]:
        assert (status, body["code"]) == (401, INVALID_WEBHOOK_TOKEN)
    assert [r.code for r in fake.take_refusals()] == [INVALID_WEBHOOK_TOKEN] * 2
