"""Crisis phrases: how a text and a phrase are compared (whole words, contractions spelled out),
and the phrase file's shape and grammar; bot/crisis/matcher.py reads texts with them.

The grammar, all of it (content/README.md says it for reviewers):
    word            a whole word, normalised as the text is (case, apostrophes, contractions)
    (a|b c|d)       one of the alternatives; each may be several words, or hold more grammar
    [a|b]           optional: one of these, or nothing
    ...             a gap of up to GAP words (any words, within the sentence)
    $               where a clause ends: a comma, a full stop, a line's end, the text's end...
    {name}          the alternatives of a named list (`[lists]` in crisis.toml)

All the phrases are compiled into one automaton over words, so a text is read once, word by
word, whatever the number of phrases or alternatives: its cost grows with the text's length and
the few phrases that are part-way matched at each word, not with the size of the file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from bot.crisis.helplines import LineKind

MAX_EXPANSIONS = 2000  # expand() materialises forms, for tests and reviewers: keep that small
MAX_WORDS = 3000  # a longer text is read only this far (a note is at most 1,000 characters)
GAP = 4  # "..." skips at most this many words


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# ---- Words: how a text and a phrase are compared ----------------------------------------------

_APOSTROPHES = str.maketrans({c: "'" for c in "’‘`´ʼ′"})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Where a sentence ends (no phrase runs across it), and where a clause ends (`$` in a phrase).
# An ellipsis is a pause ("i just... want to die"), not an end.
_SENTENCE = re.compile(r"[!?\n\r]+|(?<!\.)\.(?!\.)")
_CLAUSE = re.compile(r"[,;:()\"“”—–]|\s-\s")
# Words that colour a sentence without changing it: dropped from texts and phrases alike.
FILLERS = frozenset({"so", "really", "very", "just", "truly", "honestly", "literally"})
FILLERS |= {"actually", "seriously", "genuinely", "kinda", "basically"}
CONTRACTIONS = {
    "im": "i am",
    "i'm": "i am",
    "ive": "i have",
    "i've": "i have",
    "i'll": "i will",
    "i'd": "i would",
    "he's": "he is",
    "hes": "he is",
    "she's": "she is",
    "shes": "she is",
    "they're": "they are",
    "theyre": "they are",
    "he'll": "he will",
    "she'll": "she will",
    "they'll": "they will",
    "theyll": "they will",
    "you'd": "you would",
    "they'd": "they would",
    "he'd": "he would",
    "hed": "he would",
    "she'd": "she would",
    "everyone'd": "everyone would",
    "everyone's": "everyone is",
    "everyones": "everyone is",
    "everybody's": "everybody is",
    "everybodys": "everybody is",
    "it's": "it is",
    "that's": "that is",
    "thats": "that is",
    "there's": "there is",
    "theres": "there is",
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "werent": "were not",
    "arent": "are not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "wanna": "want to",
    "gonna": "going to",
}


def _spell(token: str, out: list[str]) -> None:
    """One token of a text as words: contractions spelled out, fillers dropped."""
    spelled = CONTRACTIONS.get(token)
    if spelled is None and token.endswith("n't"):
        spelled = token[:-3] + " not"
    for word in (spelled or token.replace("'", "")).split():
        if word not in FILLERS:
            out.append(word)


def words(text: str) -> tuple[str, ...]:
    """A text as lower-case words, contractions spelled out and a few fillers dropped."""
    out: list[str] = []
    for token in _WORD.findall(text.lower().translate(_APOSTROPHES)):
        if len(out) >= MAX_WORDS:
            break
        _spell(token, out)
    return tuple(out)


END = "$"  # the word a clause's end is read as; a text's words never hold it


def sentences(text: str) -> Iterator[list[str]]:
    """A text's sentences, each as its words with END wherever a clause (or the sentence) ends."""
    count = 0
    for sentence in _SENTENCE.split(text.lower().translate(_APOSTROPHES)):
        out: list[str] = []
        for clause in _CLAUSE.split(sentence):
            before = len(out)
            for token in _WORD.findall(clause):
                _spell(token, out)
            if len(out) > before:
                out.append(END)
        count += len(out)
        if out:
            yield out
        if count >= MAX_WORDS:
            return


# ---- The grammar ------------------------------------------------------------------------------

_PLAIN = re.compile(r"[\w'’‘-]+")  # a word of a phrase: letters, digits, apostrophes, hyphens
_TOKEN = re.compile(r"\.\.\.|…|[()\[\]|$]|[^\s()\[\]|$.…]+|\.")


@dataclass(frozen=True)
class Alt:
    options: tuple[tuple[Any, ...], ...]  # each a sequence of items
    optional: bool


GAP_ITEM = "..."
Item = Any  # a word (str), GAP_ITEM, END or an Alt


class _Bad(Exception):
    """What is wrong with a phrase; parse() says it with the phrase."""


def parse(phrase: str) -> tuple[Item, ...]:
    """A phrase as a sequence of items; ValueError for a bracket, alternative or gap amiss."""
    try:
        return _items(phrase)
    except _Bad as bad:
        raise ValueError(f"{bad} in {phrase!r}") from None


def _items(phrase: str) -> tuple[Item, ...]:
    tokens = _TOKEN.findall(phrase)
    items, at = _parse_seq(tokens, 0, closing=None)
    if at != len(tokens):
        raise _Bad("unbalanced bracket")
    if not items or _shortest(items) == 0:
        raise _Bad("a phrase needs at least one word")
    if items[0] in (GAP_ITEM, END) or items[-1] == GAP_ITEM:
        raise _Bad("a phrase may not start with ... or $, nor end with ...")
    return items


def _parse_seq(tokens: list[str], at: int, closing: str | None) -> tuple[tuple[Item, ...], int]:
    """Items up to `closing` (or the end); returns them and where it stopped (at | or closing)."""
    items: list[Item] = []
    while at < len(tokens):
        token = tokens[at]
        if token in ("(", "["):
            close = ")" if token == "(" else "]"
            options: list[tuple[Item, ...]] = []
            at += 1
            while True:
                option, at = _parse_seq(tokens, at, close)
                if not option or (_shortest(option) == 0 and END not in option):
                    raise _Bad("an empty alternative")
                options.append(option)
                if at >= len(tokens):
                    raise _Bad("unbalanced bracket")
                at += 1
                if tokens[at - 1] == close:
                    break
            items.append(Alt(tuple(options), optional=token == "["))
            continue
        if token == "|":
            if closing is None:
                raise _Bad("a | outside brackets")
            return tuple(items), at
        if token in (")", "]"):
            if token != closing:
                raise _Bad("unbalanced bracket")
            return tuple(items), at
        if token in ("...", "…"):
            items.append(GAP_ITEM)
        elif token == END:
            items.append(END)
        else:
            if not _PLAIN.fullmatch(token):
                raise _Bad(f"{token!r} is not a word (optional words are [a|b])")
            items.extend(words(token))
        at += 1
    if closing is not None:
        raise _Bad("unbalanced bracket")
    return tuple(items), at


def _shortest(items: Sequence[Item]) -> int:
    """The fewest words the items can match (a gap and END count none)."""
    total = 0
    for item in items:
        if isinstance(item, Alt):
            total += 0 if item.optional else min(_shortest(o) for o in item.options)
        elif item not in (GAP_ITEM, END):
            total += 1
    return total


def count_forms(items: Sequence[Item]) -> int:
    """How many forms the items multiply out to (a gap counts as one)."""
    total = 1
    for item in items:
        if isinstance(item, Alt):
            total *= sum(count_forms(o) for o in item.options) + item.optional
    return total


def _forms(items: Sequence[Item]) -> Iterator[tuple[str, ...]]:
    choices: list[list[tuple[str, ...]]] = []
    for item in items:
        if isinstance(item, Alt):
            options = [form for option in item.options for form in _forms(option)]
            choices.append([(), *options] if item.optional else options)
        else:
            choices.append([(item,)])
    for parts in itertools.product(*choices):
        yield tuple(itertools.chain.from_iterable(parts))


def expand(phrase: str) -> list[tuple[str, ...]]:
    """ "i am (scared|afraid) of him" -> [("i","am","scared","of","him"), (..."afraid"...)].

    A gap is the word "...", a clause end "$". Raises ValueError for an unbalanced bracket, an
    empty alternative or more than MAX_EXPANSIONS forms (the matcher never multiplies out).
    """
    items = parse(phrase)
    if count_forms(items) > MAX_EXPANSIONS:
        raise ValueError(
            f"{phrase!r} has {count_forms(items)} forms; expand() lists {MAX_EXPANSIONS}"
        )
    return list(_forms(items))


_LIST = re.compile(r"\{([^{}]*)\}")


def resolve(phrase: str, lists: Mapping[str, Sequence[str]]) -> str:
    """`{name}` replaced by the named list's alternatives, "(a|b|...)"; lists may name lists."""
    try:
        return _resolve(phrase, lists, ())
    except _Bad as bad:
        raise ValueError(f"{bad} in {phrase!r}") from None


def _resolve(phrase: str, lists: Mapping[str, Sequence[str]], seen: tuple[str, ...]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lists:
            raise _Bad(f"{{{name}}}: no such list in [lists]")
        if name in seen:
            raise _Bad(f"{{{name}}}: a list that names itself")
        return "(" + "|".join(_resolve(item, lists, (*seen, name)) for item in lists[name]) + ")"

    resolved = _LIST.sub(one, phrase)
    if "{" in resolved or "}" in resolved:
        raise _Bad("a stray brace (a list is named {name})")
    return resolved


# ---- The phrase file --------------------------------------------------------------------------


class Need(_Strict):
    """What some crisis phrases call for: which kinds of line, and the words around them."""

    kind: str = Field(pattern=r"^[a-z_]+$")
    lines: tuple[LineKind, ...] = Field(min_length=1)
    reply: str = Field(min_length=1, max_length=800)
    phrases: tuple[str, ...] = Field(min_length=1)

    @field_validator("phrases")
    @classmethod
    def _parsable(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            parse(phrase)
        return phrases


def _wrong(loc: tuple[str | int, ...], why: str, given: object) -> ValidationError:
    detail = InitErrorDetails(
        type=PydanticCustomError("crisis_phrase", "{why}", {"why": why}), loc=loc, input=given
    )
    return ValidationError.from_exception_data("CrisisFile", [detail])


class CrisisFile(_Strict):
    """content/crisis.toml. `{name}` in a phrase is replaced by the list's words as the file is
    read (a list nobody names is refused, as a likely slip), so a Need's phrases are plain
    grammar and an error names the phrase as written."""

    lists: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    exceptions: tuple[str, ...] = Field(default=(), alias="except")
    need: tuple[Need, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _resolve_lists(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("lists", {}), dict):
            return data  # the fields' own validation says what is wrong
        lists: dict[str, Any] = data.get("lists", {})
        for name, items in lists.items():
            if not re.fullmatch(r"[a-z_]+", name):
                raise _wrong(("lists", name), "a list's name is lower-case letters and _", name)
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, str) for i in items)
            ):
                raise _wrong(("lists", name), "a list is a non-empty array of strings", items)
        named = {n for items in lists.values() for i in items for n in _LIST.findall(i)}
        out = dict(data)

        def resolved(loc: tuple[str | int, ...], phrases: Any) -> Any:
            if not isinstance(phrases, list):
                return phrases
            done = []
            for index, written in enumerate(phrases):
                if not isinstance(written, str):
                    done.append(written)  # the field's own validation says what is wrong
                    continue
                named.update(_LIST.findall(written))
                try:
                    phrase = _resolve(written, lists, ())
                    _items(phrase)
                except _Bad as bad:
                    raise _wrong((*loc, index), f"{bad} in {written!r}", written) from None
                done.append(phrase)
            return done

        if "except" in data:
            out["except"] = resolved(("except",), data["except"])
        if isinstance(data.get("need"), list):
            out["need"] = [
                {**need, "phrases": resolved(("need", i, "phrases"), need.get("phrases"))}
                if isinstance(need, dict) and "phrases" in need
                else need
                for i, need in enumerate(data["need"])
            ]
        unused = sorted(set(lists) - named)
        if unused:
            why = f"no phrase names {{{unused[0]}}} (is a key meant for the top, above [lists]?)"
            raise _wrong(("lists", unused[0]), why, lists[unused[0]])
        return out

    @field_validator("exceptions")
    @classmethod
    def _parsable(cls, phrases: tuple[str, ...]) -> tuple[str, ...]:
        for phrase in phrases:
            parse(phrase)
        return phrases
