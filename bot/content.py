"""Loads content/ into typed, validated objects; picks the next prompt; scores near-duplicates."""

from __future__ import annotations

import re
import string
import tomllib
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.crisis.helplines import Helplines
from bot.crisis.phrases import CrisisFile
from bot.crisis.texts import Safety
from bot.shipped import shipped
from bot.talk.phrases import Talk, load_talk

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
    "open_questions": "Open questions",
    "repair": "Repair after a hard moment",
    "setbacks": "After a setback",
    "rituals": "Goodbyes and hellos",
    "dates": "Date ideas",
    "affection": "Affection",
    "flashpoints": "Everyday trust agreements",
    "intimacy": "Intimacy and closeness",
    "home_fairness": "Fairness at home",
    "parenting": "Parenting together",
    "family_friends": "Family and friends",
    "money": "Money agreements",
    "digital": "Digital boundaries",
}
# Off for a new space, a tap away in /topics: a couple without children never asked for these.
OPT_IN_TOPICS = ("parenting",)
PLACEHOLDERS = frozenset({"weekday"})
MAX_TEXT = 500
AUDIENCES = ("both", "doubting", "doubted")
# The situation a prompt suits: after a breach (one partner broke trust), worry without a
# breach, or both (any couple, including those keeping trust strong). Issue 21's paths read it.
PATHS = ("breach", "worry", "both")
# Words that name a breach. A prompt that uses one must be for the breach path and for one side
# (only ever in private), and no pick without a path offers it: a partner who was wrongly
# suspected must never be told to apologise for an affair.
BREACH_WORDS = re.compile(
    r"\b(affairs?|the lie|betray\w*|cheat\w*|unfaithful|broke (your |their |my )?trust)\b",
    re.IGNORECASE,
)
FIRST_WEEK_DAYS = 7
# Local hours a time-of-day prompt may be sent at: breakfast-ish and evening-ish, generously.
MORNING_HOURS = range(5, 12)
EVENING_HOURS = (*range(16, 24), *range(0, 5))


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
    when: Literal["any", "morning", "evening"] = "any"
    home: Literal["any", "together", "apart"] = "any"
    path: Literal["breach", "worry", "both"]  # required: every prompt says which it suits
    # What a one-sided prompt asks of its partner, where it matters for the balance of the two
    # sides: `repair` (the doubted partner does the work of repair: apologising, answering,
    # showing change, hearing the hurt) or `own_worry` (the doubting partner is asked to calm
    # their own worry; only on the worry path). Tests keep the shares in check.
    focus: Literal["none", "repair", "own_worry"] = "none"

    _placeholders = field_validator("text")(_check_placeholders)

    @model_validator(mode="after")
    def _fits_its_path(self) -> Prompt:
        if self.focus == "repair" and self.audience != "doubted":
            raise ValueError('focus: repair is the doubted side\'s work (for = "doubted")')
        if self.focus == "own_worry" and (self.audience, self.path) != ("doubting", "worry"):
            raise ValueError(
                "focus: own_worry is only for the doubting side on the worry path; after a "
                "breach, the hurt partner's feelings are heard, not managed"
            )
        if self.names_breach and (self.path != "breach" or self.audience == "both"):
            raise ValueError(
                'text: names the breach, so it must be for one side and path = "breach"'
            )
        return self

    @property
    def names_breach(self) -> bool:
        """Whether the text names what happened ("the affair or the lie")."""
        return BREACH_WORDS.search(self.text) is not None

    def suits(self, path: str | None) -> bool:
        """Whether this prompt may go to a couple on `path` (None: no path chosen)."""
        if path is None:
            return not self.names_breach  # free practice never names a breach
        if path == "breach":
            return self.path != "worry"
        return self.path != "breach"

    def render(self, weekday: str) -> str:
        return self.text.replace("{weekday}", weekday)

    def fits(self, local_hour: int, apart: bool) -> bool:
        """Whether this prompt reads right sent at `local_hour` to a couple who live apart or not."""
        if not 0 <= local_hour <= 23:
            raise ValueError(f"local_hour must be 0 to 23, not {local_hour}")
        written_for_others = "together" if apart else "apart"
        if self.home == written_for_others:
            return False
        if self.when == "morning":
            return local_hour in MORNING_HOURS
        if self.when == "evening":
            return local_hour in EVENING_HOURS
        return True


def fitting(local_hour: int, apart: bool) -> Callable[[Prompt], bool]:
    """`pick_prompt(..., fits=fitting(20, apart=True))`: prompts that suit this send."""
    return lambda prompt: prompt.fits(local_hour, apart)


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=24)]


class Question(_Strict):
    id: str = Field(pattern=r"^checkin-([0-9]{2,3}|hurt)$")  # hurt: the hurt partner's own
    text: str = Field(min_length=1, max_length=200)
    labels: tuple[Label, Label, Label, Label, Label]  # what 1, 2, 3, 4 and 5 mean

    @field_validator("labels")
    @classmethod
    def _distinct(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        if len({label.lower() for label in labels}) != len(labels):
            raise ValueError("the five labels must differ from each other")
        return labels

    @property
    def low(self) -> str:
        return self.labels[0]

    @property
    def high(self) -> str:
        return self.labels[-1]

    def label(self, score: int) -> str:
        """The short label for a score from 1 to 5."""
        if not 1 <= score <= len(self.labels):
            raise ValueError(f"score must be 1 to {len(self.labels)}, not {score}")
        return self.labels[score - 1]


class Texts(_Strict):
    welcome: str = Field(min_length=1, max_length=1500)
    # /start in a private chat: no "join this space… shown here together", said of a group.
    welcome_private: str = Field(default="", max_length=1500)
    help: str = Field(min_length=1, max_length=3500)
    # Under Telegram's 4096 with the key's place filled in (issue 23 names the hurt answer).
    privacy: str = Field(min_length=1, max_length=3800)
    support: str = Field(min_length=1, max_length=3500)
    # /privacy's first answer, about 120 words; the whole `privacy` text is a tap away.
    privacy_short: str = Field(default="", max_length=1200)

    @field_validator("privacy", "privacy_short")
    @classmethod
    def _periods(cls, text: str) -> str:
        # /privacy states the configured retention periods and where the key is: a placeholder
        # each, and no other.
        try:
            text.format(note_days=1, inactive_days=1, key_place="")
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"may use only {{note_days}}, {{inactive_days}} and {{key_place}} in braces "
                f"({err!r})"
            ) from None
        return text


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
    hurt: Question | None = None


class _FirstWeekFile(_Strict):
    prompts: list[str]


@dataclass(frozen=True)
class Library:
    """All of Tandem's content, validated."""

    prompts: tuple[Prompt, ...]
    questions: tuple[Question, ...]
    texts: Texts
    first_week: tuple[str, ...] = ()  # prompt ids for a new space's first days, in order
    by_id: dict[str, Prompt] = field(default_factory=dict)
    by_topic: dict[str, tuple[Prompt, ...]] = field(default_factory=dict)
    question_by_id: dict[str, Question] = field(default_factory=dict)
    safety: Safety = field(default_factory=Safety)  # helplines and crisis phrases
    hurt: Question | None = None  # asked of the hurt partner alone (bot/checkins/hurt.py)
    talk: Talk = field(default_factory=Talk)  # plain words and their answers (content/talk.toml)

    @classmethod
    def build(
        cls,
        prompts: Sequence[Prompt],
        questions: Sequence[Question],
        texts: Texts,
        first_week: Sequence[str] = (),
        safety: Safety | None = None,
        hurt: Question | None = None,
        talk: Talk | None = None,
    ) -> Library:
        """Raises ValueError (naming the entry) for a first week that is not 7 gentle prompts."""
        by_id = {p.id: p for p in prompts}
        _check_first_week(first_week, by_id)
        by_topic = {t: tuple(p for p in prompts if p.topic == t) for t in TOPICS}
        return cls(
            prompts=tuple(prompts),
            questions=tuple(questions),
            texts=texts,
            first_week=tuple(first_week),
            by_id=by_id,
            by_topic={t: ps for t, ps in by_topic.items() if ps},
            question_by_id={q.id: q for q in questions},
            safety=safety or Safety(),
            hurt=hurt,
            talk=talk or Talk(),
        )

    def counts(self) -> dict[str, int]:
        return {topic: len(ps) for topic, ps in self.by_topic.items()}

    def tally(
        self, tag: Literal["topic", "audience", "when", "home", "path", "focus"]
    ) -> dict[str, int]:
        """How many prompts carry each value of a tag, most common first."""
        return dict(Counter(str(getattr(p, tag)) for p in self.prompts).most_common())

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


def _check_first_week(ids: Sequence[str], by_id: dict[str, Prompt]) -> None:
    if not ids:
        return  # a library built by hand may go without one; load_content requires it
    if len(ids) != FIRST_WEEK_DAYS:
        raise ValueError(f"prompts: needs exactly {FIRST_WEEK_DAYS} ids, not {len(ids)}")
    for index, prompt_id in enumerate(ids):
        where = f"prompts[{index}]"
        prompt = by_id.get(prompt_id)
        if prompt is None:
            raise ValueError(f"{where}: no prompt has id {prompt_id!r}")
        if prompt_id in ids[:index]:
            raise ValueError(f"{where}: {prompt_id!r} is listed twice")
        # The same seven reach every new couple, at whatever hour and wherever they live.
        if (prompt.audience, prompt.when, prompt.home) != ("both", "any", "any"):
            raise ValueError(
                f"{where}: {prompt_id!r} must be for both, any time and any home "
                f"(it is for={prompt.audience}, when={prompt.when}, home={prompt.home})"
            )


def first_week_prompt(library: Library, days_since_start: int) -> Prompt | None:
    """The fixed prompt for a new space's day (0 is the first day); None once the week is over."""
    day = max(days_since_start, 0)  # a start stamped a little in the future is still day one
    if day >= len(library.first_week):
        return None
    return library.by_id[library.first_week[day]]


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
        question_file = _QuestionFile.model_validate(_read_toml(questions_path))
    except ValidationError as err:
        raise ContentError(f"{questions_path}: {_describe(err)}") from None
    questions = question_file.question
    if len({q.id for q in questions}) != len(questions):
        raise ContentError(f"{questions_path}: question.id: ids must be unique")
    missing = [a for a in AUDIENCES if not any(p.audience == a for p in prompts)]
    if missing:
        raise ContentError(f"{prompt_dir}: for: no prompt is for {missing[0]!r}")
    week_path = root / "first_week.toml"
    if not week_path.exists():
        raise ContentError(
            f"{week_path}: missing (it lists the first week's {FIRST_WEEK_DAYS} ids)"
        )
    try:
        first_week = _FirstWeekFile.model_validate(_read_toml(week_path)).prompts
    except ValidationError as err:
        raise ContentError(f"{week_path}: {_describe(err)}") from None
    texts_path = root / "texts.toml"
    try:
        texts = Texts.model_validate(_read_toml(texts_path))
    except ValidationError as err:
        raise ContentError(f"{texts_path}: {_describe(err)}") from None
    safety = load_safety(root)
    try:
        talk = load_talk(root / "talk.toml")
    except ValueError as err:
        raise ContentError(str(err)) from None
    try:
        return Library.build(
            prompts, questions, texts, first_week, safety, question_file.hurt, talk
        )
    except ValueError as err:
        raise ContentError(f"{week_path}: {err}") from None


def load_safety(root: Path) -> Safety:
    """content/helplines.toml and content/crisis.toml; raises ContentError naming the field."""
    helplines_path, crisis_path = root / "helplines.toml", root / "crisis.toml"
    for path in (helplines_path, crisis_path):
        if not path.exists():
            raise ContentError(f"{path}: missing (/support and the crisis replies read it)")
    try:
        helplines = Helplines.model_validate(_read_toml(helplines_path))
    except ValidationError as err:
        raise ContentError(f"{helplines_path}: {_describe(err)}") from None
    try:
        crisis = CrisisFile.model_validate(_read_toml(crisis_path))
        return Safety.build(helplines, crisis)
    except ValidationError as err:
        raise ContentError(f"{crisis_path}: {_describe(err)}") from None
    except ValueError as err:
        raise ContentError(f"{crisis_path}: {err}") from None


def default_content_dir() -> Path:
    return shipped("content")


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
    "questions": "open_questions",
    "setback": "setbacks",
    "goodbyes": "rituals",
    "hellos": "rituals",
    "date": "dates",
    "agreements": "flashpoints",
    "trust agreements": "flashpoints",
    "closeness": "intimacy",
    "chores": "home_fairness",
    "housework": "home_fairness",
    "mental load": "home_fairness",
    "fairness": "home_fairness",
    "kids": "parenting",
    "children": "parenting",
    "family": "family_friends",
    "friends": "family_friends",
    "in laws": "family_friends",
    "inlaws": "family_friends",
    "finances": "money",
    "budget": "money",
    "phones": "digital",
    "screens": "digital",
    "online": "digital",
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
    fits: Callable[[Prompt], bool] | None = None,
    audience: str = "both",
    path: str | None = None,
) -> Pick:
    """The next prompt for `audience`: the topic after `last_topic` that still has unseen prompts.

    Each space gets its own stable order within a topic (seeded by the space), so two couples
    do not march through the same list, and a restart never changes what comes next.
    Prompts that do not `fits` are skipped, unless none of the chosen topics has one that fits:
    then every prompt of those topics may come, so a pick always succeeds.
    Only prompts that suit the couple's `path` come (`Prompt.suits`); with no path (free
    practice), none that names a breach.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, not {audience!r}")
    if path is not None and path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, not {path!r}")
    wanted = set(topics)
    pools = _pools(library, [t for t in TOPICS if t in wanted], audience, path)
    if not pools:  # none of the chosen topics speaks to this audience
        pools = _pools(library, list(TOPICS), audience, path)
    if fits is not None:
        fitting_pools = {t: tuple(p for p in ps if fits(p)) for t, ps in pools.items()}
        if any(fitting_pools.values()):
            pools = {t: ps for t, ps in fitting_pools.items() if ps}
    order = list(pools)
    if not order:
        raise ValueError(f"no prompt is for {audience!r}")  # load_content rules this out
    start = (order.index(last_topic) + 1) % len(order) if last_topic in order else 0
    rotation = order[start:] + order[:start]
    for new_cycle, seen_now in ((False, seen), (True, set[str]())):
        for topic in rotation:
            fresh = [p for p in pools[topic] if p.id not in seen_now]
            if fresh:
                return Pick(min(fresh, key=lambda p: _rank(seed, p.id)), new_cycle)
    raise AssertionError("every pool in the rotation holds at least one prompt")


def _pools(
    library: Library, topics: Sequence[str], audience: str, path: str | None
) -> dict[str, tuple[Prompt, ...]]:
    pools = {
        t: tuple(p for p in library.by_topic.get(t, ()) if p.audience == audience and p.suits(path))
        for t in topics
    }
    return {t: ps for t, ps in pools.items() if ps}
