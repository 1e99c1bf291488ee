"""Loads the guided paths, today's questions, the weekly guides and the /repair talk from
content/, and validates them; an invalid file raises ContentError naming the file and field.

    content/paths/<id>.toml   one file per path: breach, worry, strong
    content/questions.toml    today's open questions, answered in words
    content/guides.toml       the weekly conversation guides the paths' weeks close with
    content/repair.toml       the words of the /repair talk
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.content import ContentError, default_content_dir
from bot.likeness import content_words

PATH_IDS = ("breach", "worry", "strong")
DEPTHS = ("light", "medium", "deep")
QUESTION_PATHS = ("any", *PATH_IDS)
DAYS = 7  # a week's days, each with one step for both partners
MIN_SIDE_STEPS = 2  # per week and side, on a path that ends (breach, worry)
MIN_OPEN_ENDED_WEEKS = 6
MIN_QUESTIONS = 150
MIN_PER_DEPTH = 30  # today's questions at each depth
MAX_STEP = 500
MAX_OPENING = 600
MAX_QUESTION = 200
MAX_GUIDE_PART = 320
MAX_LINE = 300  # a path's `chosen` line, a repair line
# Today's questions are short, so the prompts' word-overlap score needs two changes for them:
# the words that only frame a question are left out, and the bar is a third of the words.
QUESTION_FRAME = content_words(
    "what's you'd you're you've i'd i'm we've we're feel feels feeling thing most best small mean good make makes year"
)
QUESTION_NEAR = 0.33
# The breach is named only in private, and only on its own path: these words may appear in the
# side steps (for = doubting | doubted) of the breach path and nowhere else.
BREACH_WORDS = re.compile(
    r"\b(affairs?|lie|lies|lied|lying|liar|cheat\w*|betray\w*|unfaithful|infidelity|"
    r"broke (your|my|their) trust|what happened)\b",
    re.IGNORECASE,
)

Depth = Literal["light", "medium", "deep"]
Audience = Literal["both", "doubting", "doubted"]


def _no_braces(text: str) -> str:
    if "{" in text or "}" in text:
        raise ValueError("takes no placeholders: remove the braces")
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Stage(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=60)  # "understanding each other"
    weeks: tuple[int, ...] = Field(min_length=1)


class Week(_Strict):
    number: int = Field(ge=1)
    stage: str
    theme: str = Field(min_length=1, max_length=60)
    opening: str = Field(min_length=1, max_length=MAX_OPENING)  # sent on the week's first day
    guide: str  # the closing conversation guide, an id in guides.toml

    _braces = field_validator("opening", "theme")(_no_braces)


class Step(_Strict):
    id: str = Field(pattern=r"^[a-z]+-w[0-9]{2}-d[1-7](-[a-z0-9]+)?$")
    week: int = Field(ge=1)
    day: int = Field(ge=1, le=DAYS)
    audience: Audience = Field(alias="for")
    depth: Depth
    text: str = Field(min_length=1, max_length=MAX_STEP)

    _braces = field_validator("text")(_no_braces)


class GuidedPath(_Strict):
    """One path: its stages, its weeks in order, and every step of every week."""

    id: Literal["breach", "worry", "strong"]
    name: str = Field(min_length=1, max_length=60)
    summary: str = Field(min_length=1, max_length=100)  # one line, beside the /path button
    open_ended: bool = False  # its weeks repeat in a cycle
    chosen: str = Field(min_length=1, max_length=MAX_LINE)  # to both, when a partner chooses it
    intro: str = Field(default="", max_length=MAX_OPENING)  # the first day, before week 1
    stage: tuple[Stage, ...] = Field(min_length=1)
    week: tuple[Week, ...] = Field(min_length=1)
    step: tuple[Step, ...] = Field(min_length=1)

    _braces = field_validator("chosen", "intro", "summary")(_no_braces)

    @property
    def weeks(self) -> int:
        return len(self.week)

    def week_at(self, number: int) -> Week:
        """Week `number` (from 1); an open-ended path cycles through its weeks."""
        if number < 1:
            raise ValueError(f"weeks count from 1, not {number}")
        if self.open_ended:
            number = (number - 1) % len(self.week) + 1
        elif number > len(self.week):
            raise ValueError(f"{self.id} has {len(self.week)} weeks, not {number}")
        return self.week[number - 1]

    def stage_of(self, number: int) -> Stage:
        week = self.week_at(number)
        return next(s for s in self.stage if s.id == week.stage)

    def position(self, number: int) -> str:
        """ "Week 3 of 12: understanding each other", or "Week 14: small adventures"."""
        if self.open_ended:
            return f"Week {number}: {_lower_first(self.week_at(number).theme)}"
        return f"Week {number} of {len(self.week)}: {_lower_first(self.stage_of(number).name)}"

    def steps(self, number: int, day: int, audience: str = "both") -> tuple[Step, ...]:
        """The steps of a week's day for one audience (one `both` step; a side has 0 or 1)."""
        return self._by_day.get((self.week_at(number).number, day, audience), ())

    @functools.cached_property
    def _by_day(self) -> dict[tuple[int, int, str], tuple[Step, ...]]:
        """Each (week, day, audience)'s steps, in file order: every daily step looks one up."""
        found: dict[tuple[int, int, str], tuple[Step, ...]] = {}
        for s in self.step:
            key = (s.week, s.day, s.audience)
            found[key] = (*found.get(key, ()), s)
        return found


Path_ = GuidedPath  # the name the brief uses


class DailyQuestion(_Strict):
    id: str = Field(pattern=r"^q-[0-9]{3,4}$")
    depth: Depth
    path: Literal["any", "breach", "worry", "strong"] = "any"
    text: str = Field(min_length=1, max_length=MAX_QUESTION)

    _braces = field_validator("text")(_no_braces)

    @field_validator("text")
    @classmethod
    def _a_question(cls, text: str) -> str:
        if not text.endswith("?"):
            raise ValueError("must be a question, ending with '?'")
        return text

    def suits(self, path: str | None) -> bool:
        """Whether this question may be asked on `path` (None: free practice)."""
        return self.path == "any" or self.path == path


GuidePart = Field(min_length=1, max_length=MAX_GUIDE_PART)


class Guide(_Strict):
    id: str = Field(pattern=r"^guide-[0-9]{2}$")
    title: str = Field(min_length=1, max_length=60)
    appreciations: str = GuidePart
    went_well: str = GuidePart
    matter: str = GuidePart  # one matter, speaker and listener taking turns
    wish: str = GuidePart  # one wish for the week ahead

    _braces = field_validator("title", "appreciations", "went_well", "matter", "wish")(_no_braces)

    def parts(self) -> tuple[str, str, str, str]:
        return (self.appreciations, self.went_well, self.matter, self.wish)


class RepairQuestion(_Strict):
    ask: str = Field(min_length=1, max_length=MAX_LINE)  # asked privately
    label: str = Field(min_length=1, max_length=40)  # heads the answer in the reveal

    _braces = field_validator("ask", "label")(_no_braces)


class Repair(_Strict):
    """The words of /repair: optional, pausable, and without blame."""

    intro: str = Field(min_length=1, max_length=MAX_OPENING)
    start: str = Field(min_length=1, max_length=24)  # button
    not_now: str = Field(min_length=1, max_length=24)  # button
    felt: RepairQuestion
    needed: RepairQuestion
    own_part: RepairQuestion
    waiting: str = Field(min_length=1, max_length=MAX_LINE)  # answered; the other has not yet
    reveal: str = Field(min_length=1, max_length=MAX_LINE)  # heads both answers, shown together
    differently: RepairQuestion
    closing: str = Field(min_length=1, max_length=MAX_LINE)
    pause: str = Field(min_length=1, max_length=MAX_LINE)
    resume: str = Field(min_length=1, max_length=MAX_LINE)
    # Buttons beside "Write my own", for the one thing to do differently (at most 10: the
    # button's action carries one digit).
    suggestions: tuple[str, ...] = Field(default=(), max_length=10)

    _braces = field_validator(
        "intro", "waiting", "reveal", "closing", "pause", "resume", "start", "not_now"
    )(_no_braces)

    @field_validator("suggestions")
    @classmethod
    def _short_suggestions(cls, found: tuple[str, ...]) -> tuple[str, ...]:
        for text in found:
            if not text.strip() or len(text) > 40 or "{" in text or "}" in text:
                raise ValueError(f"{text!r}: each is a button label of 1 to 40 characters")
        return found

    def questions(self) -> tuple[RepairQuestion, RepairQuestion, RepairQuestion]:
        """The three private questions, in the order they are asked."""
        return (self.felt, self.needed, self.own_part)


class _QuestionFile(_Strict):
    question: tuple[DailyQuestion, ...] = Field(min_length=1)


class _GuideFile(_Strict):
    guide: tuple[Guide, ...] = Field(min_length=1)


@dataclass(frozen=True)
class PathLibrary:
    """The paths, today's questions, the weekly guides and the /repair talk, validated."""

    paths: dict[str, GuidedPath]
    questions: tuple[DailyQuestion, ...]
    guides: dict[str, Guide]
    repair: Repair

    def questions_for(
        self, path: str | None, depth: str | None = None
    ) -> tuple[DailyQuestion, ...]:
        """Questions that suit `path` (None: free practice), optionally of one depth."""
        return tuple(
            q for q in self.questions if q.suits(path) and (depth is None or q.depth == depth)
        )

    def guide_for(self, path: str, number: int) -> Guide:
        return self.guides[self.paths[path].week_at(number).guide]

    def counts(self) -> dict[str, int]:
        """Steps per path and audience, questions per depth and path: for `content check`."""
        tally: Counter[str] = Counter()
        for path in self.paths.values():
            tally[f"{path.id} weeks"] = path.weeks
            for step in path.step:
                tally[f"{path.id} steps for {step.audience}"] += 1
        for question in self.questions:
            tally[f"questions {question.depth}"] += 1
            tally[f"questions for {question.path}"] += 1
        tally["guides"] = len(self.guides)
        return dict(tally)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _describe(err: ValidationError) -> str:
    """The first error as "step[12].depth: Input should be ...", as a reader counts entries."""
    first = err.errors()[0]
    where = ""
    for part in first["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    return f"{where}: {first['msg']}"


def _read(path: Path) -> dict[str, object]:
    if not path.exists():
        raise ContentError(f"{path}: missing")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ContentError(f"{path}: not valid TOML ({err})") from None


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(_read(path))
    except ValidationError as err:
        raise ContentError(f"{path}: {_describe(err)}") from None


def load_paths(root: Path | None = None) -> PathLibrary:
    """Reads and validates the path content under `root` (default: the shipped content/)."""
    root = root or default_content_dir()
    guides_path = root / "guides.toml"
    guide_list = _parse(_GuideFile, guides_path).guide
    ids = _Ids()
    for index, guide in enumerate(guide_list):
        ids.add(guide.id, guides_path, f"guide[{index}].id")
    guides = {g.id: g for g in guide_list}
    paths: dict[str, GuidedPath] = {}
    for path_id in PATH_IDS:
        file = root / "paths" / f"{path_id}.toml"
        path = _parse(GuidedPath, file)
        if path.id != path_id:
            raise ContentError(f"{file}: id: {path.id!r} must match the file name {path_id!r}")
        _check_path(path, file, guides, ids)
        paths[path_id] = path
    questions_path = root / "questions.toml"
    questions = _parse(_QuestionFile, questions_path).question
    for index, question in enumerate(questions):
        ids.add(question.id, questions_path, f"question[{index}].id")
    _check_questions(questions, questions_path, root)
    repair_path = root / "repair.toml"
    repair = _parse(Repair, repair_path)
    library = PathLibrary(paths=paths, questions=questions, guides=guides, repair=repair)
    _check_breach_words(library, root)
    return library


class _Ids:
    """Ids are unique across every file of this content, and across the prompts' ids."""

    def __init__(self) -> None:
        self.seen: dict[str, Path] = {}

    def add(self, item_id: str, file: Path, field: str) -> None:
        if item_id in self.seen:
            raise ContentError(f"{file}: {field}: {item_id!r} is also in {self.seen[item_id]}")
        self.seen[item_id] = file


def _check_path(path: GuidedPath, file: Path, guides: dict[str, Guide], ids: _Ids) -> None:
    def fail(field: str, message: str) -> ContentError:
        return ContentError(f"{file}: {field}: {message}")

    numbers = [w.number for w in path.week]
    for index, number in enumerate(numbers):
        if number != index + 1:
            raise fail(f"week[{index}].number", f"is {number}; weeks run 1, 2, 3... in order")
    if path.open_ended and len(numbers) < MIN_OPEN_ENDED_WEEKS:
        raise fail("week", f"an open-ended path needs at least {MIN_OPEN_ENDED_WEEKS} weeks")
    stage_ids = [s.id for s in path.stage]
    covered: Counter[int] = Counter()
    for index, stage in enumerate(path.stage):
        if stage.id in stage_ids[:index]:
            raise fail(f"stage[{index}].id", f"{stage.id!r} is listed twice")
        for number in stage.weeks:
            if number not in numbers:
                raise fail(f"stage[{index}].weeks", f"week {number} does not exist")
            covered[number] += 1
    for index, week in enumerate(path.week):
        if covered[week.number] != 1:
            raise fail(
                "stage.weeks",
                f"week {week.number} is in {covered[week.number]} stages; it must be in one",
            )
        if week.stage not in stage_ids:
            raise fail(f"week[{index}].stage", f"no stage has id {week.stage!r}")
        owner = next(s for s in path.stage if week.number in s.weeks)
        if owner.id != week.stage:
            raise fail(f"week[{index}].stage", f"is {week.stage!r} but {owner.id!r} lists it")
        if week.guide not in guides:
            raise fail(f"week[{index}].guide", f"no guide has id {week.guide!r} in guides.toml")
    slots: set[tuple[int, int, str]] = set()
    for index, step in enumerate(path.step):
        where = f"step[{index}]"
        ids.add(step.id, file, f"{where}.id")
        if not step.id.startswith(f"{path.id}-w{step.week:02d}-d{step.day}"):
            raise fail(
                f"{where}.id", f"{step.id!r} must begin {path.id}-w{step.week:02d}-d{step.day}"
            )
        if step.week not in numbers:
            raise fail(f"{where}.week", f"week {step.week} does not exist")
        slot = (step.week, step.day, step.audience)
        if slot in slots:
            raise fail(
                f"{where}.day",
                f"week {step.week} day {step.day} already has a step for {step.audience}",
            )
        slots.add(slot)
    for week in path.week:
        _check_week(path, week.number, fail)


def _check_week(path: GuidedPath, number: int, make: Callable[[str, str], ContentError]) -> None:
    mine = [s for s in path.step if s.week == number]
    shared = sorted((s for s in mine if s.audience == "both"), key=lambda s: s.day)
    days = [s.day for s in shared]
    if days != list(range(1, DAYS + 1)):
        missing = sorted(set(range(1, DAYS + 1)) - set(days))
        raise make("step.day", f"week {number} has no step for both on day(s) {missing}")
    if shared[0].depth != "light" or shared[-1].depth == "light":
        raise make(
            "step.depth", f"week {number}: day 1 must be light and day {DAYS} medium or deep"
        )
    for audience in ("both", "doubting", "doubted"):
        ordered = sorted((s for s in mine if s.audience == audience), key=lambda s: s.day)
        for before, after in itertools.pairwise(ordered):
            if DEPTHS.index(after.depth) < DEPTHS.index(before.depth):
                raise make(
                    "step.depth",
                    f"{after.id} is {after.depth} after {before.id} ({before.depth}): "
                    "a week moves from light to deep",
                )
        if not path.open_ended and audience != "both" and len(ordered) < MIN_SIDE_STEPS:
            raise make(
                "step.for", f"week {number} needs at least {MIN_SIDE_STEPS} steps for {audience}"
            )


def _check_questions(questions: Iterable[DailyQuestion], file: Path, root: Path) -> None:
    listed = list(questions)
    if len(listed) < MIN_QUESTIONS:
        raise ContentError(f"{file}: question: {len(listed)}, fewer than {MIN_QUESTIONS}")
    depths: Counter[str] = Counter(q.depth for q in listed)
    for depth in DEPTHS:
        if depths[depth] < MIN_PER_DEPTH:
            raise ContentError(
                f"{file}: question.depth: {depths[depth]} {depth}, fewer than {MIN_PER_DEPTH}"
            )
    words = [question_words(q.text) for q in listed]
    for (i, a), (j, b) in itertools.combinations(enumerate(words), 2):
        if _jaccard(a, b) >= QUESTION_NEAR:
            raise ContentError(
                f"{file}: question[{j}].text: {listed[j].id} nearly repeats {listed[i].id} "
                f"({_jaccard(a, b):.2f})"
            )
    for prompt_id, asked in prompt_questions(root):
        theirs = question_words(asked)
        for index, mine in enumerate(words):
            if _jaccard(mine, theirs) >= QUESTION_NEAR:
                raise ContentError(
                    f"{file}: question[{index}].text: {listed[index].id} nearly repeats the "
                    f"question in prompt {prompt_id} ({asked!r})"
                )


def question_words(text: str) -> frozenset[str]:
    """The words that carry a question's meaning: `content_words` less the framing words."""
    return content_words(text) - QUESTION_FRAME


def question_similarity(a: str, b: str) -> float:
    """Word overlap of two questions, 0 to 1; at QUESTION_NEAR or above they repeat an idea."""
    return _jaccard(question_words(a), question_words(b))


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


_ASKED = re.compile(r"\bask (?:each other|your partner)\b[^:]*:\s*([^?]+\?)", re.IGNORECASE)


def prompt_questions(root: Path) -> Iterator[tuple[str, str]]:
    """(prompt id, the question it asks) for each prompt that says "Ask each other: ...?"."""
    for file in sorted((root / "prompts").glob("*.toml")):
        listed = _read(file).get("prompt")
        for raw in listed if isinstance(listed, list) else []:
            if isinstance(raw, dict):
                for asked in _ASKED.findall(str(raw.get("text", ""))):
                    yield str(raw.get("id", file.stem)), asked


def _texts(library: PathLibrary) -> Iterator[tuple[str, str, str]]:
    """(file, field, text) for every text a couple may read, except breach side steps."""
    for path in library.paths.values():
        file = f"paths/{path.id}.toml"
        for field in ("name", "summary", "chosen", "intro"):
            yield file, field, getattr(path, field)
        for index, week in enumerate(path.week):
            yield file, f"week[{index}].opening", week.opening
            yield file, f"week[{index}].theme", week.theme
        for index, step in enumerate(path.step):
            if path.id != "breach" or step.audience == "both":
                yield file, f"step[{index}].text", step.text
    for index, question in enumerate(library.questions):
        yield "questions.toml", f"question[{index}].text", question.text
    for guide in library.guides.values():
        for part in ("title", "appreciations", "went_well", "matter", "wish"):
            yield "guides.toml", f"{guide.id}.{part}", getattr(guide, part)
    repair = library.repair
    for name in Repair.model_fields:
        value = getattr(repair, name)
        if isinstance(value, RepairQuestion):
            yield "repair.toml", f"{name}.ask", value.ask
            yield "repair.toml", f"{name}.label", value.label
        elif isinstance(value, tuple):
            for index, item in enumerate(value):
                yield "repair.toml", f"{name}[{index}]", item
        else:
            yield "repair.toml", name, str(value)


def _check_breach_words(library: PathLibrary, root: Path) -> None:
    for file, field, text in _texts(library):
        found = BREACH_WORDS.search(text)
        if found:
            raise ContentError(
                f"{root / file}: {field}: says {found.group(0)!r}; the breach is named only in "
                "the breach path's side steps (private)"
            )
