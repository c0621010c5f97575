"""The compiled, indexed form of a rule set: first-hit and collect decisions.

Each rule is indexed by its most selective equality/membership tests (a
discrimination index): rules sharing the same indexed fact paths form a
group with one dict from the facts' values on those paths to the ascending
indices of the rules that accept them. Deciding looks each group up once,
then checks only the candidates' remaining tests, in rule order; rules with
no equality or membership test are checked in order too. The answer is
always the one an in-order scan gives -- only the work differs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, final

from reqfulfill.rules._conditions import AllOf, Facts, Predicate, Test, norm, predicate
from reqfulfill.rules._facts import MISSING, resolve

__all__ = ["Matcher"]

_MAX_KEYS_PER_RULE: Final = 64
_MAX_INDEXED_PATHS: Final = 3


def _indexable(node: AllOf) -> dict[str, frozenset[object]]:
    """Top-level eq/in tests of a rule as path -> accepted values (intersected per path)."""
    sets: dict[str, frozenset[object]] = {}
    for child in node.children:
        if isinstance(child, Test) and child.op in ("eq", "in"):
            previous = sets.get(child.path)
            sets[child.path] = child.values if previous is None else previous & child.values
    return sets


def _getter(parts: tuple[str, ...]) -> Callable[[Facts], Any]:
    """A fast function from facts to the value at ``parts`` (or MISSING)."""
    if len(parts) == 1:
        key = parts[0]
        return lambda facts: facts.get(key, MISSING)
    if len(parts) == 2:
        first, second = parts

        def two(facts: Facts) -> Any:
            inner = facts.get(first, MISSING)
            if type(inner) is dict or isinstance(inner, Mapping):
                return inner.get(second, MISSING)
            return MISSING

        return two
    return lambda facts: resolve(facts, parts)


@final
class Matcher:
    """Decides which rules match facts, using the discrimination index."""

    __slots__ = ("_getters", "_groups", "_n", "_residual", "_unindexed")

    def __init__(self, nodes: Sequence[AllOf]) -> None:
        self._n = len(nodes)
        wanted = [_indexable(node) for node in nodes]
        distinct: dict[str, set[object]] = {}
        for sets in wanted:
            for path, values in sets.items():
                distinct.setdefault(path, set()).update(values)
        cardinality = {path: len(values) for path, values in distinct.items()}

        paths: dict[str, int] = {}
        groups: dict[tuple[int, ...], dict[Any, list[int]]] = {}
        unindexed: list[int] = []
        residual: list[Predicate | None] = []
        for index, (node, sets) in enumerate(zip(nodes, wanted, strict=True)):
            if any(not values for values in sets.values()):
                residual.append(None)  # an empty value set: the rule can never match
                continue
            chosen: list[str] = []
            width = 1
            for path in sorted(sets, key=lambda p: (-cardinality[p], len(sets[p]), p)):
                if len(chosen) == _MAX_INDEXED_PATHS:
                    break
                if width * len(sets[path]) <= _MAX_KEYS_PER_RULE:
                    chosen.append(path)
                    width *= len(sets[path])
            if not chosen:
                unindexed.append(index)
                residual.append(predicate(node))
                continue
            chosen.sort()
            signature = tuple(paths.setdefault(path, len(paths)) for path in chosen)
            table = groups.setdefault(signature, {})
            if len(chosen) == 1:
                for value in sets[chosen[0]]:
                    table.setdefault(value, []).append(index)
            else:
                for combo in itertools.product(*(sets[path] for path in chosen)):
                    table.setdefault(combo, []).append(index)
            rest = tuple(
                c
                for c in node.children
                if not (isinstance(c, Test) and c.op in ("eq", "in") and c.path in chosen)
            )
            residual.append(predicate(AllOf(rest, node.where)) if rest else None)
        self._getters = tuple(_getter(tuple(path.split("."))) for path in paths)
        self._groups = tuple(
            (
                signature[0],
                signature[1] if len(signature) > 1 else -1,
                signature if len(signature) > 2 else (),
                table,
            )
            for signature, table in groups.items()
        )
        self._unindexed = tuple(unindexed)
        self._residual = tuple(residual)

    @property
    def size(self) -> int:
        """How many rules the matcher decides over."""
        return self._n

    def _hits(self, facts: Facts) -> Iterator[list[int]]:
        """For each group, the rules whose indexed tests the facts pass (ascending)."""
        keys = [get(facts) for get in self._getters]
        for first, second, more, table in self._groups:
            # Specialised for one and two indexed paths: this is the hot loop.
            a = keys[first]
            if a is MISSING:
                continue
            if a.__class__ is not str:
                a = norm(a)
            try:
                if second < 0:
                    hits = table.get(a)
                else:
                    b = keys[second]
                    if b is MISSING:
                        continue
                    if b.__class__ is not str:
                        b = norm(b)
                    if more:
                        combo = tuple(norm(keys[p]) for p in more)
                        if MISSING in combo:
                            continue
                        hits = table.get(combo)
                    else:
                        hits = table.get((a, b))
            except TypeError:  # an unhashable fact (list, table) equals no scalar
                continue
            if hits is not None:
                yield hits

    def _candidates(self, facts: Facts) -> list[list[int]]:
        return list(self._hits(facts))

    def first(self, facts: Facts) -> int:
        """The index of the first rule that matches, or -1."""
        best = self._n
        residual = self._residual
        keys = [get(facts) for get in self._getters]
        # the loop of _hits, inlined: this is the hot path of every decision
        for first, second, more, table in self._groups:
            a = keys[first]
            if a is MISSING:
                continue
            if a.__class__ is not str:
                a = norm(a)
            try:
                if second < 0:
                    hits = table.get(a)
                else:
                    b = keys[second]
                    if b is MISSING:
                        continue
                    if b.__class__ is not str:
                        b = norm(b)
                    if more:
                        combo = tuple(norm(keys[p]) for p in more)
                        if MISSING in combo:
                            continue
                        hits = table.get(combo)
                    else:
                        hits = table.get((a, b))
            except TypeError:  # an unhashable fact (list, table) equals no scalar
                continue
            if hits is None:
                continue
            for index in hits:
                if index >= best:
                    break
                check = residual[index]
                if check is None or check(facts):
                    best = index
                    break
        for index in self._unindexed:
            if index >= best:
                break
            check = residual[index]
            if check is None or check(facts):
                best = index
                break
        return best if best < self._n else -1

    def all(self, facts: Facts) -> list[int]:
        """The indices of every rule that matches, ascending."""
        residual = self._residual
        candidates = set(self._unindexed)
        for hits in self._candidates(facts):
            candidates.update(hits)
        out = []
        for index in sorted(candidates):
            check = residual[index]  # None: the index alone decides
            if check is None or check(facts):
                out.append(index)
        return out
