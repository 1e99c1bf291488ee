"""How alike two prompts are in words (`tandem content check`'s near-duplicates)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.content import Prompt

# Near-duplicates: a plain word-overlap score. It catches a prompt re-worded from another one;
# it cannot see two prompts that say the same thing in different words (that takes a reader).
_STOP_TEXT = """
    a an and the or but if so to of in on at by for with from as into about than then
    that this these those it its is are was were be been being am do does did done doing
    i me my mine you your yours yourself yourselves we us our ours they them their theirs
    he she his her what when where which who whom how why there here not no nor only just
    very too also even still can could will would shall should may might must let lets
    get got one each other both either all any some more most much many own same such
    up out over partner today tonight like say says tell ask thing things something way
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
NEAR_DUPLICATE = 0.25
_SUFFIXES = ("ingly", "edly", "ing", "ed", "ly", "es", "s", "e")


def _stem(word: str) -> str:
    word = word.removesuffix("'s")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> frozenset[str]:
    """The lower-cased, crudely stemmed words of a text that carry its meaning."""
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())
    return frozenset(_stem(w) for w in words if w not in STOP_WORDS)


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of two texts' content words: 0 shares nothing, 1 the same words."""
    return _jaccard(content_words(a), content_words(b))


def near_duplicates(
    prompts: Iterable[Prompt],
    threshold: float = NEAR_DUPLICATE,
    on_done: Callable[[int, int], None] | None = None,
) -> list[tuple[float, Prompt, Prompt]]:
    """Every pair of prompts whose similarity is at least `threshold`, the closest first.
    `on_done(compared, of_all)` hears how many prompts are compared with all the others."""
    words = [(p, content_words(p.text)) for p in prompts]
    pairs: list[tuple[float, Prompt, Prompt]] = []
    for i, (p, pw) in enumerate(words):
        for q, qw in words[i + 1 :]:
            score = _jaccard(pw, qw)
            if score >= threshold:
                pairs.append((score, p, q))
        if on_done is not None:
            on_done(i + 1, len(words))
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1].id, pair[2].id))
