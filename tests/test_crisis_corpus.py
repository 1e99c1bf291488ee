"""Crisis language measured: recall and false alarms of content/crisis.toml over a hand-written
corpus (tests/crisis_corpus.txt) of crisis messages and everyday couple notes sharing their words;
and the phrase grammar (bot/crisis/phrases.py) that makes that coverage reviewable.

Every third message of each section was held out while the phrases were tuned; its figures are
reported on their own, as are the development probes written while tuning. Run with `-s` (or
read a failure) to see the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from bot.content import default_content_dir, load_content
from bot.crisis.matcher import Matcher
from bot.crisis.phrases import CrisisFile, expand, parse, resolve, sentences
from bot.crisis.texts import Safety

CORPUS = Path(__file__).with_name("crisis_corpus.txt")
ORDINARY = "ordinary"
DEV = "dev "  # the development probes' sections: "[dev crisis]", "[dev ordinary]"
KINDS = ("harm", "threat", "control", "sexual", "fear", "self_harm", "suicidal")
RECALL_AT_LEAST = 0.90
FALSE_ALARMS_AT_MOST = 0.03
# The held-out third was never tuned on, so it may come out lower: this guards against a phrase
# change that only works for the messages it was tuned on; it is not the bar itself.
HELD_OUT_RECALL_AT_LEAST = 0.85
HELD_OUT_FALSE_ALARMS_AT_MOST = 0.05


@dataclass(frozen=True)
class Message:
    section: str  # a kind of crisis, or "ordinary"
    text: str
    held_out: bool
    dev: bool = False

    @property
    def crisis(self) -> bool:
        return self.section != ORDINARY


def _read() -> list[Message]:
    found: list[Message] = []
    section, seen = "", 0
    for raw in CORPUS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section, seen = line[1:-1], 0
            continue
        seen += 1
        if section.startswith(DEV):
            kind = section.removeprefix(DEV)
            found.append(Message(ORDINARY if kind == ORDINARY else kind, line, False, dev=True))
        else:
            found.append(Message(section, line, held_out=seen % 3 == 0))
    return found


def corpus() -> list[Message]:
    """The corpus's messages (not the probes): every third one of each section is held out."""
    return [m for m in _read() if not m.dev]


def probes() -> list[Message]:
    """The development probes: written while tuning, and tuned on."""
    return [m for m in _read() if m.dev]


@cache
def _safety() -> Safety:
    return load_content(default_content_dir()).safety


@dataclass(frozen=True)
class Figures:
    crisis: int
    found: int
    ordinary: int
    alarms: int

    @property
    def recall(self) -> float:
        return self.found / self.crisis

    @property
    def false_alarms(self) -> float:
        return self.alarms / self.ordinary

    def __str__(self) -> str:
        return (
            f"recall {self.recall:.1%} ({self.found}/{self.crisis}), "
            f"false alarms {self.false_alarms:.1%} ({self.alarms}/{self.ordinary})"
        )


def measure(messages: list[Message]) -> tuple[Figures, list[Message], list[Message]]:
    """The figures, the crisis messages missed and the ordinary ones that raised an alarm."""
    safety = _safety()
    missed = [m for m in messages if m.crisis and not safety.needs(m.text)]
    alarms = [m for m in messages if not m.crisis and safety.needs(m.text)]
    crisis = sum(1 for m in messages if m.crisis)
    figures = Figures(crisis, crisis - len(missed), len(messages) - crisis, len(alarms))
    return figures, missed, alarms


def report(name: str, messages: list[Message]) -> tuple[Figures, str]:
    figures, missed, alarms = measure(messages)
    lines = [f"{name}: {figures}"]
    lines += [f"  missed [{m.section}]: {m.text}" for m in missed]
    lines += [f"  false alarm: {m.text}" for m in alarms]
    text = "\n".join(lines)
    print(text)
    return figures, text


# ---- The figures ------------------------------------------------------------------------------


def test_the_corpus_is_large_and_balanced() -> None:
    messages = corpus()
    crisis = [m for m in messages if m.crisis]
    ordinary = [m for m in messages if not m.crisis]
    assert len(crisis) >= 150 and len(ordinary) >= 150
    assert {m.section for m in crisis} == set(KINDS)
    texts = [m.text for m in _read()]
    assert len(set(texts)) == len(texts), "a message is listed twice"
    held = [m for m in messages if m.held_out]
    assert len(messages) // 3 - len(KINDS) - 1 <= len(held) <= len(messages) // 3 + 1


def test_recall_and_false_alarms_over_the_whole_corpus() -> None:
    figures, text = report("all", corpus())
    assert figures.recall >= RECALL_AT_LEAST, text
    assert figures.false_alarms <= FALSE_ALARMS_AT_MOST, text


def test_recall_and_false_alarms_over_the_held_out_third() -> None:
    figures, text = report("held out", [m for m in corpus() if m.held_out])
    assert figures.recall >= HELD_OUT_RECALL_AT_LEAST, text
    assert figures.false_alarms <= HELD_OUT_FALSE_ALARMS_AT_MOST, text


def test_recall_and_false_alarms_over_the_development_probes() -> None:
    figures, text = report("development probes", probes())
    assert figures.recall >= RECALL_AT_LEAST, text
    assert figures.false_alarms <= FALSE_ALARMS_AT_MOST, text


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_crisis_is_covered(kind: str) -> None:
    figures, text = report(kind, [m for m in corpus() if m.section in (kind, ORDINARY)])
    assert figures.recall >= 0.85, text


# ---- What the issue named ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("he pushed me down the stairs", "danger"),
        ("he reads all my messages", "control"),
        ("I can't go on", "despair"),
        ("I can’t go on.", "despair"),
        ("He hit me.", "danger"),
        ("she threatened to kill me", "danger"),
        ("he takes my bank card and gives me an allowance", "control"),
        ("he won't let me see my friends", "control"),
        ("he tracks my location", "control"),
        ("he forced me to have sex", "sexual"),
        ("I said no and he did it anyway", "sexual"),
        ("I'm scared for my life", "danger"),
        ("i've been cutting myself again", "self_harm"),
        ("i want to kill myself", "despair"),
        ("i have the pills ready", "despair"),
        ("this is goodbye, thank you for everything", "despair"),
    ],
)
def test_crisis_language_reaches_the_need_it_calls_for(text: str, need: str) -> None:
    assert need in _safety().needs(text)


@pytest.mark.parametrize(
    "text",
    [
        "this week is killing me",
        "I nearly died laughing",
        "she beat me at chess",
        "I'm dying to see you",
        "my phone died",
        "he controls the remote",
        "he pushed me to try climbing",
        "she checks in on me every evening and I love it",
        "I hit the gym",
        "we fought over the dishes",
        "I could kill for a coffee",
        "he has never hit me",
        "he would never hurt me",
        "I can't go on the trip",
    ],
)
def test_sayings_that_share_the_words_stay_quiet(text: str) -> None:
    assert _safety().needs(text) == ()


def test_a_note_with_several_needs_lists_them_in_the_files_order() -> None:
    needs = _safety().needs("he raped me and he hits me. i want to die")
    assert needs == ("sexual", "danger", "despair")


# ---- The grammar ------------------------------------------------------------------------------


def matcher(*phrases: str, exceptions: tuple[str, ...] = ()) -> Matcher:
    return Matcher([("need", phrases)], exceptions)


def test_optional_words_gaps_and_clause_ends() -> None:
    found = matcher("he [has|keeps] hit me", "threw ... at me", "i can not go on $").needs
    assert found("he hit me") and found("he has hit me") and found("he keeps hit me")
    assert not found("he often hit me")  # only the listed words may stand between
    assert found("he threw a glass at me") and found("he threw his full cup at me")
    assert not found("he threw the ball really far over the fence at me")  # more than 4 words
    assert found("i can't go on") and found("i cant go on, sorry") and found("i can't go on.")
    assert not found("i can't go on the trip")


def test_a_phrase_never_runs_across_a_sentence_but_a_comma_is_no_word() -> None:
    found = matcher("he hit me", "threw ... at me").needs
    assert found("he, hit me") and found("he hit, me")
    assert not found("he threw it. at me it came")
    assert found("i just... he threw it at me")
    assert [len(s) for s in sentences("one. two, three! four\nfive...six")] == [2, 4, 2, 3]


def test_an_exception_that_overlaps_a_phrase_spares_it() -> None:
    found = matcher("he hit me", exceptions=("hit me up",)).needs
    assert not found("he hit me up")
    assert found("he hit me up, then he hit me")


def test_lists_are_named_in_braces() -> None:
    lists = {"who": ["he", "my (husband|wife)"], "act": ["hit", "{who} hit"]}
    assert resolve("{who} hit me", lists) == "(he|my (husband|wife)) hit me"
    assert resolve("{act}", lists) == "(hit|(he|my (husband|wife)) hit)"
    with pytest.raises(ValueError, match="no such list"):
        resolve("{whom} hit me", lists)
    with pytest.raises(ValueError, match="names itself"):
        resolve("{a}", {"a": ["x {a}"]})


@pytest.mark.parametrize(
    ("phrase", "wrong"),
    [
        ("i want to (die", "unbalanced bracket"),
        ("i want to die)", "unbalanced bracket"),
        ("i want to (die|)", "empty alternative"),
        ("i want to [die|so]", "empty alternative"),
        ("(all )?my messages", "is not a word"),
        ("... hit me", "may not start"),
        ("hit me ...", "nor end"),
        ("[he]", "at least one word"),
        ("he | hit", "outside brackets"),
    ],
)
def test_a_malformed_phrase_is_refused(phrase: str, wrong: str) -> None:
    with pytest.raises(ValueError, match=wrong):
        parse(phrase)


def test_the_file_names_a_phrase_as_written_and_refuses_an_unused_list() -> None:
    need = {"kind": "danger", "lines": ["abuse"], "reply": "Thank you."}
    with pytest.raises(ValueError, match=r"(?s)need\.0\.phrases\.1.*'\{who\} \(hit me'"):
        CrisisFile.model_validate(
            {
                "lists": {"who": ["he"]},
                "need": [{**need, "phrases": ["{who} hit", "{who} (hit me"]}],
            }
        )
    with pytest.raises(ValueError, match=r"(?s)lists\.except.*no phrase names"):
        CrisisFile.model_validate(
            {"lists": {"except": ["hit me up"]}, "need": [{**need, "phrases": ["he hit me"]}]}
        )
    read = CrisisFile.model_validate(
        {"lists": {"who": ["he", "she"]}, "need": [{**need, "phrases": ["{who} hit me"]}]}
    )
    assert read.need[0].phrases == ("(he|she) hit me",)


def test_expand_lists_the_forms_of_a_small_phrase() -> None:
    assert expand("[he] hit ... me $") == [
        ("hit", "...", "me", "$"),
        ("he", "hit", "...", "me", "$"),
    ]
    with pytest.raises(ValueError, match="forms"):
        expand(" ".join(["(a|b|c)"] * 8))


# Speed is measured in `make bench` (BENCH_ONLY=crisis), never timed here.
