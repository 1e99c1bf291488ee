"""The guided paths, today's questions, the weekly guides and /repair: the shipped files load and
meet the brief; each rule refuses a broken copy, naming the file and the field; the breach is
named only in private; no question repeats a prompt or another question."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.content import ContentError, default_content_dir
from bot.paths.library import (
    BREACH_WORDS,
    QUESTION_NEAR,
    PathLibrary,
    load_paths,
    prompt_questions,
    question_similarity,
)
from tests.test_content import FORBIDDEN_PHRASES


@pytest.fixture(scope="module")
def paths() -> PathLibrary:
    return load_paths()


def test_the_shipped_paths_meet_the_brief(paths: PathLibrary) -> None:
    breach, worry, strong = paths.paths["breach"], paths.paths["worry"], paths.paths["strong"]
    assert (breach.weeks, worry.weeks) == (12, 8)
    assert strong.open_ended and strong.weeks >= 6
    assert not breach.open_ended and not worry.open_ended
    for path, both in ((breach, 84), (worry, 56), (strong, 42)):
        tally = Counter(s.audience for s in path.step)
        assert tally["both"] >= both, path.id
    for path in (breach, worry):
        for week in path.week:
            sides = Counter(s.audience for s in path.step if s.week == week.number)
            assert sides["doubted"] >= 2 and sides["doubting"] >= 2, (path.id, week.number)
    assert [s.name for s in breach.stage] == [
        "Honesty and repair",
        "Understanding each other",
        "Closeness again",
    ]
    assert breach.intro and all(p.chosen for p in paths.paths.values())
    assert breach.position(3) == "Week 3 of 12: honesty and repair"
    assert breach.position(6) == "Week 6 of 12: understanding each other"
    assert strong.week_at(strong.weeks + 1) == strong.week[0]  # the weeks come round again
    assert len(breach.steps(1, 1)) == 1 and len(breach.steps(1, 2, "doubted")) == 1


def test_the_shipped_questions_guides_and_repair_meet_the_brief(paths: PathLibrary) -> None:
    depths = Counter(q.depth for q in paths.questions)
    assert len(paths.questions) >= 150
    assert depths["light"] >= 55 and depths["medium"] >= 50 and depths["deep"] >= 30
    assert Counter(q.path for q in paths.questions).most_common(1)[0][0] == "any"
    assert sorted(paths.guides) == [f"guide-{n:02d}" for n in range(1, 13)]
    assert {w.guide for w in paths.paths["breach"].week} == set(paths.guides)
    assert [q.label for q in paths.repair.questions()] == [
        "What I felt",
        "What I needed",
        "My part",
    ]
    assert "optional" in paths.repair.intro and "/repair" in paths.repair.pause
    assert paths.guide_for("strong", 7) == paths.guide_for("strong", 1)


def _every_text(paths: PathLibrary) -> list[tuple[str, str]]:
    texts = [
        (f"{p.id}.{f}", str(getattr(p, f)))
        for p in paths.paths.values()
        for f in ("name", "summary", "chosen", "intro")
    ]
    texts += [(f"{p.id} week {w.number}", w.opening) for p in paths.paths.values() for w in p.week]
    texts += [(s.id, s.text) for p in paths.paths.values() for s in p.step]
    texts += [(q.id, q.text) for q in paths.questions]
    texts += [(g.id, part) for g in paths.guides.values() for part in g.parts()]
    texts += [(name, str(value)) for name, value in paths.repair]
    return texts


def test_nothing_invites_checking_up(paths: PathLibrary) -> None:
    for where, text in _every_text(paths):
        lowered = text.lower()
        assert "you should" not in lowered, where
        for phrase in FORBIDDEN_PHRASES:
            assert phrase not in lowered, f"{where} says {phrase!r}"


def test_the_breach_is_named_only_in_private_on_its_own_path(paths: PathLibrary) -> None:
    named = {s.id for s in paths.paths["breach"].step if BREACH_WORDS.search(s.text)}
    assert named, "the breach path's side steps name what happened"
    private = {s.id for s in paths.paths["breach"].step if s.audience != "both"}
    assert named <= private
    for where, text in _every_text(paths):
        if where not in private:
            assert not BREACH_WORDS.search(text), where


def test_steps_are_short_actions(paths: PathLibrary) -> None:
    for path in paths.paths.values():
        for step in path.step:
            assert len(step.text.split()) <= 55, f"{step.id}: about 50 words at most"


def test_no_question_repeats_a_prompt_or_another_question(paths: PathLibrary) -> None:
    asked = list(prompt_questions(default_content_dir()))
    assert len(asked) >= 40  # the open_questions prompts are read, so the check is real
    for question in paths.questions:
        for prompt_id, text in asked:
            score = question_similarity(question.text, text)
            assert score < QUESTION_NEAR, f"{question.id} repeats {prompt_id} ({score:.2f})"
    texts = {q.text.lower() for q in paths.questions}
    assert len(texts) == len(paths.questions)


def test_the_question_scorer_catches_a_reworded_question() -> None:
    assert (
        question_similarity(
            "What made you laugh recently, even something tiny?",
            "What was the last thing that made you laugh out loud?",
        )
        >= QUESTION_NEAR
    )
    assert question_similarity("What's your favourite song?", "What gives you courage?") == 0.0


def test_questions_do_not_pry(paths: PathLibrary) -> None:
    prying = re.compile(r"\b(ex|exes|before we met|phone|where were|who with)\b", re.IGNORECASE)
    for question in paths.questions:
        assert not prying.search(question.text), question.id


# Broken copies: each rule names the file and the field.


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / f"content{len(list(tmp_path.iterdir()))}"
    shutil.copytree(default_content_dir(), target)
    return target


Edit = Callable[[str], str]
BREACH: list[tuple[Edit, str]] = [
    (lambda s: s.replace('for = "both"', 'for = "everyone"', 1), "step[0].for"),
    (lambda s: s.replace('depth = "light"', 'depth = "bottomless"', 1), "step[0].depth"),
    (lambda s: s.replace("day = 1\n", "day = 8\n", 1), "step[0].day"),
    (lambda s: s.replace('text = "', 'text = "' + "x" * 600, 1), "step[0].text"),
    (lambda s: s.replace('text = "', 'text = "{partner} ', 1), "step[0].text"),
    (lambda s: s.replace('id = "breach-w01-d2"', 'id = "breach-w01-d1"'), "step[1].id"),
    (lambda s: s.replace('id = "breach-w01-d2"', 'id = "worry-w01-d2"'), "step[1].id"),
    (lambda s: s.replace('guide = "guide-03"', 'guide = "guide-99"'), "week[2].guide"),
    (lambda s: s.replace("number = 2\n", "number = 3\n", 1), "week[1].number"),
    (lambda s: s.replace('stage = "honesty"', 'stage = "denial"', 1), "week[0].stage"),
    (lambda s: s.replace("weeks = [1, 2, 3, 4]", "weeks = [1, 2, 3]"), "stage.weeks"),
    (lambda s: s.replace("weeks = [1, 2, 3, 4]", "weeks = [1, 2, 3, 4, 5]"), "stage.weeks"),
    (lambda s: s.replace('opening = """', 'opening = """' + "y" * 700, 1), "week[0].opening"),
    (lambda s: s.replace('id = "breach"', 'id = "worry"', 1), "id"),
    (lambda s: s + "\n[[step\n", "not valid TOML"),
    (lambda s: s.replace("open_ended = false", 'open_ended = false\nsurprise = "x"'), "surprise"),
]


@pytest.mark.parametrize(("edit", "named"), BREACH)
def test_a_broken_path_file_is_named(tmp_path: Path, edit: Edit, named: str) -> None:
    _refused(tmp_path, "paths/breach.toml", edit, named)


def test_a_week_with_a_missing_day_is_refused(tmp_path: Path) -> None:
    # Day 7 of week 1 moved to week 2, where day 7 is then taken twice: the slot is named first.
    _refused(
        tmp_path,
        "paths/breach.toml",
        lambda s: s.replace('id = "breach-w01-d7"\nweek = 1', 'id = "breach-w01-d7"\nweek = 2'),
        "step[6].id",
    )
    _refused(
        tmp_path,
        "paths/breach.toml",
        lambda s: _drop_step(s, "breach-w01-d7"),
        "step.day",
    )


def test_a_week_must_move_from_light_to_deep(tmp_path: Path) -> None:
    def deepen_day_one(s: str) -> str:
        return s.replace(
            'id = "breach-w01-d1"\nweek = 1\nday = 1\nfor = "both"\ndepth = "light"',
            'id = "breach-w01-d1"\nweek = 1\nday = 1\nfor = "both"\ndepth = "deep"',
        )

    _refused(tmp_path, "paths/breach.toml", deepen_day_one, "step.depth")


def test_a_week_short_of_side_steps_is_refused(tmp_path: Path) -> None:
    _refused(
        tmp_path, "paths/worry.toml", lambda s: _drop_step(s, "worry-w01-d2-doubted"), "step.for"
    )


def test_the_breach_named_in_a_shared_step_is_refused(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        "paths/breach.toml",
        lambda s: s.replace('text = "Agree on a word', 'text = "After the affair, agree on a word'),
        "step[0].text",
    )
    _refused(
        tmp_path,
        "paths/worry.toml",
        lambda s: s.replace(
            "Remember that your partner's worry", "Remember that the lie and your partner's worry"
        ),
        ".text",
    )


QUESTIONS: list[tuple[Edit, str]] = [
    (lambda s: s.replace('depth = "light"', 'depth = "abyssal"', 1), "question[0].depth"),
    (lambda s: s.replace('path = "any"', 'path = "romance"', 1), "question[0].path"),
    (lambda s: s.replace('?"', '."', 1), "question[0].text"),
    (lambda s: s.replace('text = "', 'text = "' + "z" * 250, 1), "question[0].text"),
    (lambda s: s.replace('id = "q-002"', 'id = "q-001"'), "question[1].id"),
    (
        lambda s: (
            s
            + '\n[[question]]\nid = "q-900"\ndepth = "light"\ntext = "What made you laugh recently, even something small?"\n'
        ),
        "question[153].text",
    ),
    (
        lambda s: (
            s
            + '\n[[question]]\nid = "q-901"\ndepth = "deep"\ntext = "Which small thing made you smile this week?"\n'
        ),
        "question[153].text",
    ),
    (lambda s: _drop_tables(s, "question", 10), "question:"),
    (lambda s: s.replace('depth = "deep"', 'depth = "medium"'), "question.depth"),
]


@pytest.mark.parametrize(("edit", "named"), QUESTIONS)
def test_a_broken_questions_file_is_named(tmp_path: Path, edit: Edit, named: str) -> None:
    _refused(tmp_path, "questions.toml", edit, named)


GUIDES: list[tuple[Edit, str]] = [
    (lambda s: s.replace('went_well = "', 'went_well = "' + "w" * 400, 1), "guide[0].went_well"),
    (lambda s: s.replace('wish = "', 'color = "red"\nwish = "', 1), "guide[0].color"),
    (lambda s: s.replace('id = "guide-12"', 'id = "guide-11"'), "guide[11].id"),
    (lambda s: s.replace('id = "guide-12"', 'id = "guide-13"'), "week[11].guide"),
]


@pytest.mark.parametrize(("edit", "named"), GUIDES)
def test_a_broken_guides_file_is_named(tmp_path: Path, edit: Edit, named: str) -> None:
    root = _copy(tmp_path)
    file = root / "guides.toml"
    file.write_text(edit(file.read_text()))
    with pytest.raises(ContentError) as err:
        load_paths(root)
    assert ".toml" in str(err.value) and named in str(err.value)


REPAIR: list[tuple[Edit, str]] = [
    (lambda s: s.replace("[own_part]", "[your_fault]"), "own_part"),
    (lambda s: s.replace('label = "What I felt"', 'label = ""'), "felt.label"),
    (lambda s: s.replace('start = "', 'start = "' + "s" * 30, 1), "start"),
]


@pytest.mark.parametrize(("edit", "named"), REPAIR)
def test_a_broken_repair_file_is_named(tmp_path: Path, edit: Edit, named: str) -> None:
    _refused(tmp_path, "repair.toml", edit, named)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "paths" / "strong.toml").unlink()
    with pytest.raises(ContentError, match=r"strong\.toml: missing"):
        load_paths(root)


def _refused(tmp_path: Path, name: str, edit: Edit, named: str) -> None:
    root = _copy(tmp_path)
    file = root / name
    before = file.read_text()
    after = edit(before)
    assert after != before, "the edit changed nothing"
    file.write_text(after)
    with pytest.raises(ContentError) as err:
        load_paths(root)
    assert Path(name).name in str(err.value)
    assert named in str(err.value)


def _drop_step(text: str, step_id: str) -> str:
    blocks = text.split("[[step]]")
    kept = [b for b in blocks if f'id = "{step_id}"' not in b]
    assert len(kept) == len(blocks) - 1
    return "[[step]]".join(kept)


def _drop_tables(text: str, table: str, keep: int) -> str:
    head, *blocks = text.split(f"[[{table}]]")
    return head + "".join(f"[[{table}]]" + b for b in blocks[:keep])
