"""Loads content/ into typed, validated objects, and picks the next prompt for a space."""

from __future__ import annotations

import re
import string
import tomllib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TOPICS: dict[str, str] = {
    "active_listening": "Active listening",
    "gratitude": "Gratitude",
    "shared_activities": "Shared activities",
    "open_communication": "Open communication",
    "boundaries": "Boundaries",
    "transparency": "Transparency",
    "consistency": "Consistency",
    "empathy": "Empathy",
    "patience": "Patience",
    "forgiveness": "Forgiveness",
    "vulnerability": "Vulnerability",
    "self_growth": "Self-growth",
    "small_wins": "Small wins",
    "professional_help": "Professional help",
}
PLACEHOLDERS = frozenset({"weekday"})
MAX_TEXT = 500


class ContentError(Exception):
    """An invalid content file; the message names the file and the field."""


def _check_placeholders(text: str) -> str:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as err:
        raise ValueError(f"has a stray brace ({err})") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        raise ValueError(f"uses unknown placeholder(s) {sorted(unknown)}; allowed: {allowed}")
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Prompt(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+-[0-9]{2,3}$")
    topic: str
    audience: Literal["both", "doubting", "doubted"] = Field(alias="for")
    text: str = Field(min_length=1, max_length=MAX_TEXT)

    _placeholders = field_validator("text")(_check_placeholders)

    def render(self, weekday: str) -> str:
        return self.text.replace("{weekday}", weekday)


class Question(_Strict):
    id: str = Field(pattern=r"^checkin-[0-9]{2,3}$")
    text: str = Field(min_length=1, max_length=200)
    low: str = Field(min_length=1, max_length=40)
    high: str = Field(min_length=1, max_length=40)


class Texts(_Strict):
    welcome: str = Field(min_length=1, max_length=1500)
    help: str = Field(min_length=1, max_length=3500)
    privacy: str = Field(min_length=1, max_length=3500)
    support: str = Field(min_length=1, max_length=3500)


class _PromptFile(_Strict):
    topic: str
    prompt: list[dict[str, object]] = Field(min_length=1)

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, topic: str) -> str:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; known: {', '.join(TOPICS)}")
        return topic


class _QuestionFile(_Strict):
    question: list[Question] = Field(min_length=1)


@dataclass(frozen=True)
class Library:
    """All of Tandem's content, validated."""

    prompts: tuple[Prompt, ...]
    questions: tuple[Question, ...]
    texts: Texts
    by_id: dict[str, Prompt] = field(default_factory=dict)
    by_topic: dict[str, tuple[Prompt, ...]] = field(default_factory=dict)
    question_by_id: dict[str, Question] = field(default_factory=dict)

    @classmethod
    def build(
        cls, prompts: Sequence[Prompt], questions: Sequence[Question], texts: Texts
    ) -> Library:
        by_topic = {t: tuple(p for p in prompts if p.topic == t) for t in TOPICS}
        return cls(
            prompts=tuple(prompts),
            questions=tuple(questions),
            texts=texts,
            by_id={p.id: p for p in prompts},
            by_topic={t: ps for t, ps in by_topic.items() if ps},
            question_by_id={q.id: q for q in questions},
        )

    def counts(self) -> dict[str, int]:
        return {topic: len(ps) for topic, ps in self.by_topic.items()}

    def question_for(self, day_number: int) -> Question:
        """The check-in question for a day: they take turns, one a day."""
        return self.questions[day_number % len(self.questions)]

    def scored_question(self, question_id: str) -> Question:
        """The space's scored question (the same every day), or the first if it was removed."""
        return self.question_by_id.get(question_id) or self.questions[0]

    def reflection_for(self, day_number: int, scored_id: str) -> Question | None:
        """The day's optional reflection: the other questions take turns, one a day."""
        others = [q for q in self.questions if q.id != scored_id]
        return others[day_number % len(others)] if others else None


def _describe(err: ValidationError, prefix: str = "") -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in (*([prefix] if prefix else []), *first["loc"]))
    return f"{where}: {first['msg']}"


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ContentError(f"{path}: not valid TOML ({err})") from None


def load_content(root: Path) -> Library:
    """Reads and validates content/; raises ContentError naming the file and the field."""
    prompt_dir = root / "prompts"
    files = sorted(prompt_dir.glob("*.toml"))
    if not files:
        raise ContentError(f"{prompt_dir}: no prompt files (*.toml)")
    prompts: list[Prompt] = []
    seen: dict[str, Path] = {}
    for path in files:
        data = _read_toml(path)
        try:
            parsed = _PromptFile.model_validate(data)
        except ValidationError as err:
            raise ContentError(f"{path}: {_describe(err)}") from None
        for index, raw in enumerate(parsed.prompt):
            try:
                prompt = Prompt.model_validate({**raw, "topic": parsed.topic})
            except ValidationError as err:
                raise ContentError(f"{path}: {_describe(err, f'prompt[{index}]')}") from None
            if prompt.id in seen:
                raise ContentError(
                    f"{path}: prompt[{index}].id: {prompt.id!r} is also in {seen[prompt.id]}"
                )
            seen[prompt.id] = path
            prompts.append(prompt)
    questions_path = root / "checkins.toml"
    try:
        questions = _QuestionFile.model_validate(_read_toml(questions_path)).question
    except ValidationError as err:
        raise ContentError(f"{questions_path}: {_describe(err)}") from None
    if len({q.id for q in questions}) != len(questions):
        raise ContentError(f"{questions_path}: question.id: ids must be unique")
    texts_path = root / "texts.toml"
    try:
        texts = Texts.model_validate(_read_toml(texts_path))
    except ValidationError as err:
        raise ContentError(f"{texts_path}: {_describe(err)}") from None
    return Library.build(prompts, questions, texts)


def default_content_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "content"


TOPIC_ALIASES: dict[str, str] = {
    **{key.replace("_", ""): key for key in TOPICS},
    **{title.lower(): key for key, title in TOPICS.items()},
    "listening": "active_listening",
    "activities": "shared_activities",
    "communication": "open_communication",
    "reliability": "consistency",
    "validation": "empathy",
    "growth": "self_growth",
    "wins": "small_wins",
    "help": "professional_help",
    "therapy": "professional_help",
    "counselling": "professional_help",
}


def topic_key(word: str) -> str | None:
    """A topic key from what a member typed: "gratitude", "active listening", "Self-growth"."""
    cleaned = re.sub(r"[\s\-]+", "_", word.strip().lower())
    if cleaned in TOPICS:
        return cleaned
    return TOPIC_ALIASES.get(cleaned.replace("_", " ")) or TOPIC_ALIASES.get(
        cleaned.replace("_", "")
    )


@dataclass(frozen=True)
class Pick:
    prompt: Prompt
    new_cycle: bool  # every prompt of the chosen topics was seen: a new round begins


def _rank(seed: int, prompt_id: str) -> int:
    return zlib.crc32(f"{seed}:{prompt_id}".encode())


def pick_prompt(
    library: Library,
    topics: Iterable[str],
    last_topic: str | None,
    seen: set[str],
    seed: int,
    *,
    audience: str = "both",
) -> Pick:
    """The next prompt for `audience` (both, or one side): the topic after `last_topic` that
    still has unseen prompts.

    Each space gets its own stable order within a topic (seeded by the space), so two couples
    do not march through the same list, and a restart never changes what comes next.
    """

    def has(topic: str) -> bool:
        return any(p.audience == audience for p in library.by_topic.get(topic, ()))

    order = [t for t in TOPICS if t in set(topics) and has(t)] or [t for t in TOPICS if has(t)]
    if not order:
        raise LookupError(f"no {audience} prompts in the library")
    start = (order.index(last_topic) + 1) % len(order) if last_topic in order else 0
    rotation = order[start:] + order[:start]
    for new_cycle, seen_now in ((False, seen), (True, set[str]())):
        for topic in rotation:
            fresh = [
                p
                for p in library.by_topic[topic]
                if p.id not in seen_now and p.audience == audience
            ]
            if fresh:
                return Pick(min(fresh, key=lambda p: _rank(seed, p.id)), new_cycle)
    raise AssertionError("every topic in the rotation has a prompt for the audience")
