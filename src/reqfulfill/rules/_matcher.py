"""The compiled, indexed form of a rule set: first-hit and collect decisions.

Each rule is indexed by up to two of its equality/membership tests, the most
selective first (a discrimination index). First-hit decisions go through
*heads*, one per first path: a dict from the fact's value to one flat *node*
of the rules indexed under it, in rule order. A step of a node tests at most
one more indexed fact -- or, when more than four rules share the head value
and that path, looks it up in a sub-index -- then the rule's remaining tests.
Rules with no equality or membership test are tried in order after the
heads. A head whose every value's rules form one sub-index on the same path
(e.g. department, then location) is laid out as two nested dicts and looked
up directly, without a node around each sub-index. Collect decisions use a
table per set of indexed paths. The answer is always the one an in-order
scan gives -- only the work differs.

Deciding reads every indexed fact once (a :class:`Probe`) and hands out the
deciding rule's *payload*. Several matchers can share one probe
(:meth:`Matcher.rebased`): the three rule sets of
:class:`~reqfulfill.rules.Rules` read the facts once per route, and their
payloads are what each rule decides.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Final, final

from reqfulfill.rules._conditions import AllOf, Facts, Predicate, Test, norm, predicate, shape
from reqfulfill.rules._facts import MISSING, resolve

__all__ = ["Matcher", "Probe", "index_key"]

_MAX_KEYS_PER_RULE: Final = 64
_MAX_INDEXED_PATHS: Final = 2
_FLAT: Final = 4
"""A head key's rules on one more path: up to this many are tried one by one."""

# A first-hit node is flat: five fields a step, (lowest rule index, key position, test,
# residual, payload), one tuple for all the steps of a head value, so a lookup reaches
# one object. test None: nothing more to look up; a frozenset: the key must be in it;
# a dict: a sub-index from the key to a flat tuple of three fields a rule (index,
# residual, payload).
Step = tuple[int, int, Any, Predicate | None, Any]
Node = tuple[Any, ...]


def index_key(value: Any) -> Any:
    """The key of a fact value in an index: booleans kept apart, unhashables :data:`MISSING`.

    An unhashable fact (a list, a table) equals no scalar, so like a missing
    fact it finds no rule; every index lookup then simply misses.
    """
    value = norm(value)
    try:
        hash(value)
    except TypeError:
        return MISSING
    return value


def _path_key(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


@final
class Probe:
    """Reads the indexed facts once: one key per path, in :attr:`paths` order.

    Paths under the same root share one lookup of the root; every key is
    already an :func:`index_key` (:data:`MISSING` when the fact is absent).
    """

    __slots__ = ("_plan", "paths")

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths: tuple[str, ...] = tuple(sorted(set(paths), key=_path_key))
        plan: list[tuple[str, tuple[str | tuple[str, ...], ...] | None, tuple[Any, ...]]] = []
        for root, grouped in itertools.groupby(self.paths, key=lambda p: p.split(".", 1)[0]):
            rests = [path.split(".")[1:] for path in grouped]
            if not rests[0]:  # the root itself is a path: its own step
                plan.append((root, None, ()))
                rests = rests[1:]
            if rests:
                subs = tuple(rest[0] if len(rest) == 1 else tuple(rest) for rest in rests)
                plan.append((root, subs, (MISSING,) * len(subs)))
        self._plan = tuple(plan)

    def read(self, facts: Facts) -> list[Any]:
        """The index key of each path's fact value, in :attr:`paths` order."""
        keys: list[Any] = []
        append = keys.append
        for root, subs, blank in self._plan:
            top = facts.get(root, MISSING)
            if subs is None:
                append(top if top.__class__ is str else index_key(top))
            elif type(top) is dict or isinstance(top, Mapping):
                for sub in subs:
                    value = top.get(sub, MISSING) if isinstance(sub, str) else resolve(top, sub)
                    append(value if value.__class__ is str else index_key(value))
            else:
                keys.extend(blank)
        return keys


def _indexable(node: AllOf) -> dict[str, frozenset[object]]:
    """Top-level eq/in tests of a rule as path -> accepted values (intersected per path)."""
    sets: dict[str, frozenset[object]] = {}
    for child in node.children:
        if isinstance(child, Test) and child.op in ("eq", "in"):
            previous = sets.get(child.path)
            sets[child.path] = child.values if previous is None else previous & child.values
    return sets


def _chosen(sets: dict[str, frozenset[object]], cardinality: dict[str, int]) -> tuple[str, ...]:
    """The paths to index a rule on: up to two, the most selective first.

    A path is taken while the rule's value combinations stay few.
    """
    if len(sets) == 1:  # most rules: one path, nothing to weigh
        path = next(iter(sets))
        return (path,) if len(sets[path]) <= _MAX_KEYS_PER_RULE else ()
    chosen: list[str] = []
    width = 1
    for path in sorted(sets, key=lambda p: (-cardinality[p], len(sets[p]), p)):
        if len(chosen) == _MAX_INDEXED_PATHS:
            break
        if width * len(sets[path]) <= _MAX_KEYS_PER_RULE:
            chosen.append(path)
            width *= len(sets[path])
    return tuple(sorted(chosen, key=lambda p: (-cardinality[p], p)))


def _cut(steps: list[Step]) -> list[Step]:
    """Steps in rule order, cut after the first that decides alone (none after it can win)."""
    steps.sort(key=lambda step: step[0])
    for at, step in enumerate(steps):
        if step[2] is None and step[3] is None:
            return steps[: at + 1]
    return steps


def _flat(steps: list[Step]) -> Node:
    """A node: the steps, cut, as one flat tuple of five fields a step."""
    return tuple(field for step in _cut(steps) for field in step)


def _flat_inner(steps: list[Step]) -> Node:
    """A sub-index entry: the steps, cut, as one flat tuple of (index, residual, payload)."""
    return tuple(
        field for index, _, _, check, payload in _cut(steps) for field in (index, check, payload)
    )


@final
class _Plan:
    """How one rule is indexed: its head path and value, at most one more path, the rest."""

    __slots__ = ("chosen", "index", "residual", "sets")

    def __init__(
        self,
        index: int,
        chosen: tuple[str, ...],
        sets: dict[str, frozenset[object]],
        residual: Predicate | None,
    ) -> None:
        self.index = index
        self.chosen = chosen
        self.sets = sets
        self.residual = residual


def _head_node(
    plans: list[_Plan],
    position: Mapping[str, int],
    payloads: Sequence[Any],
    shared: dict[frozenset[object], frozenset[object]],
) -> Node:
    """The first-hit node of one head key: the rules with it, tried in order."""
    steps: list[Step] = []
    by_second: dict[str, list[_Plan]] = {}
    for plan in plans:
        if len(plan.chosen) == 1:
            steps.append((plan.index, -1, None, plan.residual, payloads[plan.index]))
        else:
            by_second.setdefault(plan.chosen[1], []).append(plan)
    for path, group in by_second.items():
        at = position[path]
        if len(group) <= _FLAT:
            for plan in group:
                accepted = shared.setdefault(plan.sets[path], plan.sets[path])
                steps.append((plan.index, at, accepted, plan.residual, payloads[plan.index]))
            continue
        buckets: dict[Any, list[Step]] = {}
        for plan in group:
            step = (plan.index, -1, None, plan.residual, payloads[plan.index])
            for value in plan.sets[path]:
                buckets.setdefault(value, []).append(step)
        lowest = min(plan.index for plan in group)
        steps.append((lowest, at, {v: _flat_inner(b) for v, b in buckets.items()}, None, None))
    return _flat(steps)


def _only_sub_index(table: Mapping[Any, Node]) -> int:
    """The key position every node of a head looks up in its one sub-index, else -1.

    A head whose every value holds many rules on the same second path (e.g.
    department, then location) is two dict lookups: the node around each
    sub-index is left out.
    """
    second = -1
    for node in table.values():
        if len(node) != 5 or node[2].__class__ is not dict or second not in (-1, node[1]):
            return -1
        second = node[1]
    return second


def _nest(table: dict[tuple[Any, ...], Any], depth: int) -> dict[Any, Any]:
    """``{(a, b): v}`` as ``{a: {b: v}}``: a lookup allocates no key tuple."""
    nested: dict[Any, Any] = {}
    for combo, value in table.items():
        level = nested
        for part in combo[: depth - 1]:
            level = level.setdefault(part, {})
        level[combo[depth - 1]] = value
    return nested


@final
class Matcher:
    """Decides which rules match facts, using the discrimination index.

    :meth:`first` gives the payload of the first matching rule (its index
    unless ``payloads`` are given), :meth:`all` the indices of every one.
    ``paths`` are the fact paths the index reads.
    """

    __slots__ = (
        "_every",
        "_grouped",
        "_heads",
        "_n",
        "_probe",
        "_residual",
        "_subheads",
        "_tables",
        "_unindexed",
        "_unindexed_plans",
        "paths",
    )

    def __init__(self, nodes: Sequence[AllOf], payloads: Sequence[Any] | None = None) -> None:
        self._n = len(nodes)
        wanted = [_indexable(node) for node in nodes]
        distinct: dict[str, set[object]] = {}
        for sets in wanted:
            for path, values in sets.items():
                distinct.setdefault(path, set()).update(values)
        cardinality = {path: len(values) for path, values in distinct.items()}
        plans: list[_Plan] = []
        residual: list[Predicate | None] = []
        compiled: dict[Hashable, Predicate] = {}  # rules testing the same share one check
        # the rule indices, made at once: the index compares them on every decision,
        # and made together they sit together in memory, a few to a cache line
        ranks = list(range(self._n))
        for index, node, sets in zip(ranks, nodes, wanted, strict=True):
            if any(not values for values in sets.values()):
                residual.append(None)  # an empty value set: the rule can never match
                continue
            chosen = _chosen(sets, cardinality)
            rest = tuple(
                c
                for c in node.children
                if not (isinstance(c, Test) and c.op in ("eq", "in") and c.path in chosen)
            )
            check = None
            if rest:
                residue = AllOf(rest, node.where)
                key = shape(residue)
                check = compiled.get(key)
                if check is None:
                    check = compiled[key] = predicate(residue)
            residual.append(check)
            plans.append(_Plan(index, chosen, {p: sets[p] for p in chosen}, check))
        self._residual = tuple(residual)
        self.paths: tuple[str, ...] = tuple(sorted({p for plan in plans for p in plan.chosen}))
        self._group(plans)
        self._lay_out(Probe(self.paths), range(self._n) if payloads is None else payloads)

    def _group(self, plans: list[_Plan]) -> None:
        """The rules by head path and value, and the every-hit tables by indexed paths."""
        heads: dict[str, dict[Any, list[_Plan]]] = {}
        every: dict[tuple[str, ...], dict[tuple[Any, ...], list[int]]] = {}
        unindexed: list[_Plan] = []
        for plan in plans:
            if not plan.chosen:
                unindexed.append(plan)
                continue
            head = heads.setdefault(plan.chosen[0], {})
            for value in plan.sets[plan.chosen[0]]:
                head.setdefault(value, []).append(plan)
            table = every.setdefault(plan.chosen, {})
            for combo in itertools.product(*(plan.sets[path] for path in plan.chosen)):
                table.setdefault(combo, []).append(plan.index)
        self._grouped = tuple(
            sorted(
                (
                    (min(p.index for group in by_value.values() for p in group), path, by_value)
                    for path, by_value in heads.items()
                ),
                key=lambda head: head[0],
            )
        )
        self._tables = tuple(
            (signature, _nest({c: tuple(hits) for c, hits in table.items()}, len(signature)))
            for signature, table in every.items()
        )
        self._unindexed_plans = tuple(unindexed)

    def _lay_out(self, probe: Probe, payloads: Sequence[Any]) -> None:
        """The heads and the every-hit tables over ``probe``'s keys, with ``payloads``."""
        position = {path: i for i, path in enumerate(probe.paths)}
        shared: dict[frozenset[object], frozenset[object]] = {}
        heads = []
        subheads = []
        for lowest, path, by_value in self._grouped:
            table = {v: _head_node(g, position, payloads, shared) for v, g in by_value.items()}
            second = _only_sub_index(table)
            if second < 0:
                heads.append((lowest, position[path], table))
            else:  # every value's rules are one sub-index: look the second key up at once
                nested = {v: node[2] for v, node in table.items()}
                subheads.append((lowest, position[path], second, nested))
        self._heads = tuple(heads)
        self._subheads = tuple(subheads)
        self._unindexed = tuple(
            (plan.index, plan.residual, payloads[plan.index]) for plan in self._unindexed_plans
        )
        self._every = tuple(
            (position[sig[0]], position[sig[1]] if len(sig) > 1 else -1, table)
            for sig, table in self._tables
        )
        self._probe = probe

    def rebased(self, probe: Probe, payloads: Sequence[Any]) -> Matcher:
        """The same rules over a shared probe (reading at least :attr:`paths`), new payloads."""
        twin = Matcher.__new__(Matcher)
        twin._n, twin._residual, twin.paths = self._n, self._residual, self.paths
        twin._grouped, twin._tables = self._grouped, self._tables
        twin._unindexed_plans = self._unindexed_plans
        twin._lay_out(probe, payloads)
        return twin

    @property
    def probe(self) -> Probe:
        """The probe whose keys :meth:`first_keyed` and :meth:`all_keyed` take."""
        return self._probe

    @property
    def size(self) -> int:
        """How many rules the matcher decides over."""
        return self._n

    def first(self, facts: Facts) -> Any:
        """The payload of the first rule that matches, or None."""
        return self.first_keyed(self._probe.read(facts), facts)

    def all(self, facts: Facts) -> list[int]:
        """The indices of every rule that matches, ascending."""
        return self.all_keyed(self._probe.read(facts), facts)

    def first_keyed(self, keys: Sequence[Any], facts: Facts) -> Any:
        """:meth:`first` with the facts already read by :attr:`probe`."""
        best = self._n
        found: Node = ()
        at = 0
        # The hot path of every decision: a dict lookup per head, then the steps of one
        # flat node, nothing allocated. Heads and steps go lowest rule first, so the
        # first that cannot beat the best so far ends the search; of a step that does
        # not decide, only the fields it needs are read.
        for lowest, one, table in self._heads:
            if lowest >= best:
                break
            node = table.get(keys[one])
            if node is None:
                continue
            i, end = 0, len(node)
            while i < end:
                low = node[i]
                if low >= best:
                    break
                test = node[i + 2]
                if test is not None:
                    if test.__class__ is dict:
                        inner = test.get(keys[node[i + 1]], ())
                        j = 0
                        while j < len(inner) and inner[j] < best:
                            check = inner[j + 1]
                            if check is None or check(facts):
                                best, found, at = inner[j], inner, j + 2
                                break
                            j += 3
                        i += 5
                        continue
                    if keys[node[i + 1]] not in test:
                        i += 5
                        continue
                check = node[i + 3]
                if check is None or check(facts):
                    best, found, at = low, node, i + 4
                    break
                i += 5
        # heads whose every value is a sub-index: two lookups, then its rules in order
        # (most matchers have none: no loop, so no iterator, is made for them)
        if self._subheads:
            for lowest, one, two, nested in self._subheads:
                if lowest >= best:
                    continue
                sub = nested.get(keys[one])
                if sub is None:
                    continue
                inner = sub.get(keys[two], ())
                j, end = 0, len(inner)
                while j < end and inner[j] < best:
                    check = inner[j + 1]
                    if check is None or check(facts):
                        best, found, at = inner[j], inner, j + 2
                        break
                    j += 3
        for index, check, payload in self._unindexed:
            if index >= best:
                break
            if check is None or check(facts):
                return payload
        return found[at] if found else None

    def all_keyed(self, keys: Sequence[Any], facts: Facts) -> list[int]:
        """:meth:`all` with the facts already read by :attr:`probe`."""
        residual = self._residual
        candidates = {index for index, _, _ in self._unindexed}
        for one, two, table in self._every:
            hits = table.get(keys[one])
            if hits is not None and two >= 0:
                hits = hits.get(keys[two])
            if hits is not None:
                candidates.update(hits)
        out = []
        for index in sorted(candidates):
            check = residual[index]  # None: the index alone decides
            if check is None or check(facts):
                out.append(index)
        return out
