"""/timezone in the words people use: EST is New York's time, and an ambiguous city is asked about."""

from __future__ import annotations

from bot import actions
from bot.service import Tandem
from tests.conftest import one
from tests.fakes import ALICE, BOB, said

CAROL = ("u3", "Carol")


async def test_an_abbreviation_is_the_zone_people_mean_and_the_reply_says_so(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    reply = await one(lite, said(ALICE, "/timezone EST"))
    assert "Timezone set to America/New_York" in reply.text
    assert "I took EST as US Eastern time (America/New_York)" in reply.text
    assert "Timezone: America/New_York" in (await one(lite, said(ALICE, "/timezone"))).text


async def test_a_country_and_a_city_with_its_country(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    assert "Europe/London" in (await one(lite, said(ALICE, "/timezone UK"))).text
    assert "Europe/Paris" in (await one(lite, said(ALICE, "/timezone Paris, France"))).text


async def test_an_ambiguous_city_is_offered_as_buttons_and_a_tap_sets_it(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    await lite.handle(said(BOB, "/start"))
    asked = await one(lite, said(ALICE, "/timezone Portland"))
    assert "nothing has changed yet" in asked.text
    labels = [b.label for b in asked.buttons]
    assert labels == ["Portland, Oregon", "Portland, Maine"]
    assert all(len(b.action.encode()) <= 64 for b in asked.buttons)
    assert "Timezone: UTC" in (await one(lite, said(ALICE, "/timezone"))).text

    refused = await one(lite, said(CAROL, action=asked.buttons[1].action))
    assert "not one of this space's partners" in refused.text
    chosen = await one(lite, said(BOB, action=asked.buttons[1].action))
    assert "Timezone set to America/New_York" in chosen.text
    assert "Timezone: America/New_York" in (await one(lite, said(ALICE, "/timezone"))).text


async def test_a_zone_button_tandem_never_made_changes_nothing(lite: Tandem) -> None:
    await lite.handle(said(ALICE, "/start"))
    refused = await one(lite, said(ALICE, action="z:Mars/Olympus"))
    assert "Europe/Berlin" in refused.text
    assert "Timezone: UTC" in (await one(lite, said(ALICE, "/timezone"))).text


def test_every_zone_fits_in_a_button() -> None:
    import zoneinfo

    for zone in zoneinfo.available_timezones():
        action = actions.choose_zone(zone)
        assert len(action.encode()) <= 64
        assert actions.parse(action) == actions.ChooseZone(zone)
