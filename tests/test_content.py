"""The shipped content is valid and rich enough; broken files are named; prompts never repeat early."""

import shutil
from pathlib import Path

import pytest

from bot.content import (
    TOPICS,
    ContentError,
    Library,
    default_content_dir,
    load_content,
    pick_prompt,
)


def test_shipped_content_meets_the_brief(library: Library) -> None:
    counts = library.counts()
    assert len(library.prompts) >= 150
    assert len(counts) >= 10
    for topic in ("active_listening", "gratitude", "shared_activities"):
        assert counts[topic] >= 25
    assert len(library.questions) >= 10
    audiences = {p.audience for p in library.prompts}
    assert audiences == {"both", "doubting", "doubted"}


def test_prompts_are_actions_not_monitoring(library: Library) -> None:
    for prompt in library.prompts:
        lowered = prompt.text.lower()
        assert "you should" not in lowered, prompt.id
        for forbidden in (
            "check their phone",
            "check your partner's phone",
            "their location",
            "read their messages",
        ):
            assert forbidden not in lowered, prompt.id


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(default_content_dir(), target)
    return target


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda s: s.replace('topic = "gratitude"', 'topic = "astrology"'), "topic"),
        (lambda s: s.replace('for = "both"', 'for = "everyone"', 1), "prompt[0].for"),
        (lambda s: s.replace('text = "', 'text = "{partner} ', 1), "prompt[0].text"),
        (lambda s: s.replace('text = "', 'text = "' + "x" * 600, 1), "prompt[0].text"),
        (lambda s: s.replace('id = "gratitude-02"', 'id = "gratitude-01"'), "prompt[1].id"),
        (lambda s: s + "\n[[prompt\n", "not valid TOML"),
    ],
)
def test_invalid_content_names_file_and_field(tmp_path: Path, edit, named: str) -> None:  # type: ignore[no-untyped-def]
    root = _copy(tmp_path)
    path = root / "prompts" / "gratitude.toml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert "gratitude.toml" in str(err.value)
    assert named in str(err.value)


def test_rotation_covers_every_prompt_before_any_repeats(library: Library) -> None:
    topics = ["gratitude", "patience"]
    seen: set[str] = set()
    last = None
    order: list[str] = []
    pool = sum(
        1 for t in topics for p in library.by_topic[t] if p.audience == "both"
    )  # the sides' prompts are another rotation, for one partner
    for _ in range(pool):
        pick = pick_prompt(library, topics, last, seen, seed=7)
        assert not pick.new_cycle
        assert pick.prompt.id not in seen
        seen.add(pick.prompt.id)
        order.append(pick.prompt.topic)
        last = pick.prompt.topic
    assert order[:4] == ["gratitude", "patience", "gratitude", "patience"]  # topics take turns
    again = pick_prompt(library, topics, last, seen, seed=7)
    assert again.new_cycle


def test_each_couple_gets_its_own_order(library: Library) -> None:
    first = [pick_prompt(library, list(TOPICS), None, set(), seed=s).prompt.id for s in range(20)]
    assert len(set(first)) > 1
