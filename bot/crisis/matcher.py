"""The matcher: every crisis phrase compiled into one automaton over words, which reads a text
once and says which needs it calls for (the grammar is in bot/crisis/phrases.py)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from bot.crisis.phrases import END, GAP, GAP_ITEM, Alt, Item, count_forms, parse, sentences

# ---- Matching ---------------------------------------------------------------------------------

_EXCEPT = -1  # the label of an exception's end state


class _Automaton:
    """Every phrase compiled into one word-level automaton (no empty moves left).

    State 0 is where every phrase starts. `step[s]` maps a word to the states it leads to,
    `anyword[s]` are the states any word leads to (a gap), `label[s]` the phrases ending there.
    """

    def __init__(self) -> None:
        # While building, a node holds only the moves it has: most have one or two, and a dict
        # and three sets for each of tens of thousands of nodes made the start cost 40 MiB.
        self._nodes = 0
        self._words: defaultdict[int, dict[str, set[int]]] = defaultdict(dict)
        self._any: defaultdict[int, set[int]] = defaultdict(set)
        self._empty: defaultdict[int, set[int]] = defaultdict(set)
        self._label: defaultdict[int, set[int]] = defaultdict(set)
        self.start = self._node()
        self.step: list[dict[str, tuple[int, ...]]] = []
        self.anyword: list[tuple[int, ...]] = []
        self.label: list[tuple[int, ...]] = []

    def _node(self) -> int:
        self._nodes += 1
        return self._nodes - 1

    def add(self, items: Sequence[Item], label: int) -> None:
        first = self._node()
        self._empty[self.start].add(first)
        self._label[self._seq(items, first)].add(label)

    def _seq(self, items: Sequence[Item], at: int) -> int:
        for item in items:
            if isinstance(item, Alt):
                end = self._node()
                for option in item.options:
                    begin = self._node()
                    self._empty[at].add(begin)
                    self._empty[self._seq(option, begin)].add(end)
                if item.optional:
                    self._empty[at].add(end)
                at = end
            elif item == GAP_ITEM:
                end = self._node()
                self._empty[at].add(end)
                for _ in range(GAP):
                    skipped = self._node()
                    self._any[at].add(skipped)
                    self._empty[skipped].add(end)
                    at = skipped
                at = end
            else:
                nxt = self._node()
                self._words[at].setdefault(item, set()).add(nxt)
                at = nxt
        return at

    def finish(self) -> None:
        """Folds the empty moves into the others, and keeps only the states a word reaches."""

        def close(state: int) -> set[int]:
            # Each state's closure is asked for once (the walk below numbers each state once),
            # so none is kept: keeping them all was most of the build's memory.
            found, todo = {state}, [state]
            while todo:
                for nxt in self._empty.get(todo.pop(), ()):
                    if nxt not in found:
                        found.add(nxt)
                        todo.append(nxt)
            return found

        numbers: dict[int, int] = {}
        order: list[int] = []

        def number(state: int) -> int:
            if state not in numbers:
                numbers[state] = len(order)
                order.append(state)
            return numbers[state]

        number(self.start)
        at = 0
        while at < len(order):
            state = order[at]
            step: dict[str, set[int]] = {}
            anyword: set[int] = set()
            label: set[int] = set()
            for near in close(state):
                for word, targets in self._words.get(near, {}).items():
                    step.setdefault(word, set()).update(number(t) for t in targets)
                anyword.update(number(t) for t in self._any.get(near, ()))
                label.update(self._label.get(near, ()))
            self.step.append({w: tuple(sorted(t)) for w, t in step.items()})
            self.anyword.append(tuple(sorted(anyword)))
            self.label.append(tuple(sorted(label)))
            at += 1
        del self._words, self._any, self._empty, self._label


_OTHER = ""  # any word no phrase names: all of them lead to the same places
_DEAD = -1
MAX_STATES = 20_000  # the remembered moves are forgotten (started afresh) past this many states


class _Table:
    """The deterministic states met so far: each a set of the automaton's states, its moves
    (word -> state) and the phrases that end in it."""

    def __init__(self, automaton: _Automaton) -> None:
        self.ids: dict[frozenset[int], int] = {}
        self.members: list[tuple[int, ...]] = []
        self.moves: list[dict[str, int]] = []
        self.labels: list[tuple[int, ...]] = []
        self.start = self.state(frozenset({automaton.start}), automaton)

    def state(self, members: frozenset[int], automaton: _Automaton) -> int:
        known = self.ids.get(members)
        if known is None:
            self.members.append(tuple(members))
            self.moves.append({})
            self.labels.append(tuple({found for m in members for found in automaton.label[m]}))
            known = self.ids[members] = len(self.members) - 1
        return known


class Matcher:
    """Finds the reviewed phrases in a text, whole words only; says which needs they call for.

    A text is read sentence by sentence, word by word. A phrase may begin at every word: each
    beginning still alive is one state of a deterministic automaton, built from the phrases'
    automaton as words call for it and remembered, so a word costs a lookup per live beginning
    (a few), whatever the number of phrases. A phrase found where an exception overlaps it does
    not count.
    """

    def __init__(self, needs: Sequence[tuple[str, Iterable[str]]], exceptions: Iterable[str]):
        self.order = [kind for kind, _ in needs]
        self.forms = 0
        self._automaton = _Automaton()
        for index, (_, phrases) in enumerate(needs):
            for phrase in phrases:
                items = parse(phrase)
                self.forms += count_forms(items)
                self._automaton.add(items, index)
        for phrase in exceptions:
            self._automaton.add(parse(phrase), _EXCEPT)
        self._automaton.finish()
        self._vocabulary = frozenset(w for step in self._automaton.step for w in step)
        self._lock = threading.Lock()  # only a new move takes it; reading a known one does not
        self._table = _Table(self._automaton)

    def _move(self, table: _Table, state: int, word: str) -> int:
        """Where `word` (a word of the vocabulary, _OTHER or END) leads from `state`."""
        known = table.moves[state].get(word)
        if known is not None:
            return known
        automaton = self._automaton
        with self._lock:
            reached: set[int] = set()
            for member in table.members[state]:
                reached.update(automaton.step[member].get(word, ()))
                if word == END:
                    reached.add(member)  # a clause's end is no word to phrases not asking for it
                else:
                    reached.update(automaton.anyword[member])
            found = table.state(frozenset(reached), automaton) if reached else _DEAD
            table.moves[state][word] = found
        return found

    def _found(self, said: list[str]) -> Iterator[tuple[int, int, int]]:
        """(label, first word, word after the last) for every phrase found in one sentence."""
        if len(self._table.members) > MAX_STATES:
            self._table = _Table(self._automaton)  # a text already being read keeps its own
        table, vocabulary, move = self._table, self._vocabulary, self._move
        live: list[tuple[int, int]] = []
        for at, word in enumerate(said):
            key = word if word in vocabulary or word == END else _OTHER
            reached: list[tuple[int, int]] = []
            if word != END:
                state = move(table, table.start, key)
                if state != _DEAD:
                    reached.append((state, at))
            for state, began in live:
                state = move(table, state, key)
                if state != _DEAD:
                    reached.append((state, began))
            for state, began in reached:
                for found in table.labels[state]:
                    yield found, began, at + 1
            live = reached

    def needs(self, text: str) -> tuple[str, ...]:
        """The needs whose phrases the text contains, in the file's order; () for none."""
        hits: set[int] = set()
        for said in sentences(text):
            found = list(self._found(said))
            spared = [(b, e) for label, b, e in found if label == _EXCEPT]
            for label, began, ended in found:
                overlaps = any(b < ended and began < e for b, e in spared)
                if label != _EXCEPT and not overlaps:
                    hits.add(label)
        return tuple(kind for index, kind in enumerate(self.order) if index in hits)
