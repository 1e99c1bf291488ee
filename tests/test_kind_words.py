"""Issue 23's frame for showing up: "days you both showed up", never a "streak" (a painful
process is no game of unbroken runs), and a parenting rotation only for those who ask for it."""

from __future__ import annotations

from pathlib import Path

from bot.checkins.answers import MILESTONES, milestone_text
from bot.registry import COMMANDS
from bot.service import Tandem
from tests.conftest import one, privacy_text
from tests.fakes import ALICE, BOB, FakeMessenger, said
from tests.test_checkins import ask, tap

ROOT = Path(__file__).resolve().parents[1]


def test_streak_is_in_no_content_file_or_readme() -> None:
    """Every file under content/ (prompts, check-ins, texts) and the README users read first."""
    files = [*sorted((ROOT / "content").rglob("*.toml")), ROOT / "README.md"]
    assert len(files) > 10
    found = [f.relative_to(ROOT) for f in files if "streak" in f.read_text().lower()]
    assert found == []


async def test_streak_is_in_nothing_a_user_reads(lite: Tandem, messenger: FakeMessenger) -> None:
    """The reveal, /progress, every milestone, /help in full, /privacy in full, and every
    command's description in the menus."""
    checkin = await ask(lite, messenger)
    await lite.handle(said(ALICE, action=tap(checkin, 4)))
    read = [m.text for m in await lite.handle(said(BOB, action=tap(checkin, 2)))]
    assert any("Days you both showed up: 1." in t for t in read)
    read.append((await one(lite, said(ALICE, "/progress"))).text)
    read += [text for m in MILESTONES if (text := milestone_text(m)) is not None]
    short_help = await one(lite, said(ALICE, "/help"))
    read.append(short_help.text)
    read += [(await one(lite, said(ALICE, action=b.action))).text for b in short_help.buttons]
    read.append(await privacy_text(lite, ALICE))
    read += [c.description for c in COMMANDS.values()]
    assert len(read) > 20
    assert [t for t in read if "streak" in t.lower()] == []


async def test_parenting_is_off_for_a_new_space_and_a_tap_away(lite: Tandem) -> None:
    """A couple without children never asked for parenting prompts: a new space leaves them out,
    /topics says so, and /topics add parenting brings them in."""
    await lite.handle(said(ALICE, "/start"))
    listing = (await one(lite, said(ALICE, "/topics"))).text
    assert "· parenting: Parenting together" in listing
    assert "✓ gratitude: Gratitude" in listing
    assert "Parenting together is off unless you want it: /topics add parenting." in listing
    added = (await one(lite, said(ALICE, "/topics add parenting"))).text
    assert "Parenting together" in added
    listing = (await one(lite, said(ALICE, "/topics"))).text
    assert "✓ parenting: Parenting together" in listing and "off unless" not in listing
