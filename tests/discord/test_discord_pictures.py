"""Pictures on Discord: /progress and the weekly look back arrive as a file shown in an embed,
with the chart's one-line summary as its alt text."""

from __future__ import annotations

from datetime import date

from tests.discord.discord_fakes import ALICE, BOB, HOME, Post
from tests.discord.harness import Couple
from tests.test_weekly import PNG, seed_answers

SATURDAY = date(2026, 11, 21)


def picture(post: Post) -> tuple[str, bytes]:
    [(filename, data)] = post.files
    [embed] = post.data["embeds"]
    assert embed["image"]["url"] == f"attachment://{filename}"
    [described] = post.data["attachments"]
    assert described["description"].startswith("Chart: daily check-in scores from 1 to 5")
    return filename, data


async def test_progress_and_the_look_back_arrive_as_an_embedded_picture(couple: Couple) -> None:
    await couple.slash(ALICE, "start")
    await couple.slash(BOB, "start")
    await seed_answers(
        couple.tandem,
        {SATURDAY: (4, 5), date(2026, 11, 20): (3, 4)},
        {SATURDAY, date(2026, 11, 20)},
        str(HOME.id),
    )
    said = await couple.slash(ALICE, "progress")
    [post] = [p for p in said.posts if p.shown]
    filename, data = picture(post)
    assert filename == "progress-2026-11-21.png" and data.startswith(PNG)
    assert post.content.startswith("📈 Days you both showed up: 2")

    couple.clock.set("2026-11-22T19:00:00+00:00")
    [back] = [p for p in await couple.dispatch() if p.content.startswith("🌿 Your ")]
    assert back.channel_id == HOME.id and not back.ephemeral
    filename, data = picture(back)
    assert filename == "look-back-2026-11-22.png" and data.startswith(PNG)
