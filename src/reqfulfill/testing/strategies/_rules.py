"""Strategies for routing rules: conditions, rules, rule sets, priority matrices, ``Rules``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import Channel, Impact, Priority, Urgency
from reqfulfill.rules import (
    HIT_POLICIES,
    OPERATORS,
    STRATEGIES,
    PriorityMatrix,
    Rule,
    Rules,
    RuleSet,
)
from reqfulfill.testing.strategies._basics import (
    DEFAULT_SUPPLIERS,
    SLUG_CHARACTERS,
    check_int,
    check_sizes,
    lazy,
    levels,
    numbers,
    scalars,
    slugs,
    words,
)

__all__ = ["conditions", "fact_values", "priority_matrices", "routing_rules", "rule_sets", "rules"]

_SAFE_REGEXES: Final = ("^a", "b$", "a|c", "[ab]+", "^[a-z]+-\\d+$", "x*", "(?i)iphone")
"""The regexes drawn for the ``regex`` operator: quick to match whatever the text."""


def fact_values(catalog: Catalog | None) -> dict[str, st.SearchStrategy[Any]]:
    """Fact path -> the kind of value that fact holds (so tests often match)."""
    item_ids: st.SearchStrategy[str] = slugs
    group_ids: st.SearchStrategy[str] = slugs
    categories: st.SearchStrategy[str] = words
    if catalog is not None:
        if catalog.items:
            item_ids = st.sampled_from(sorted(i.id for i in catalog.items))
            categories = st.sampled_from(sorted(catalog.categories))
        if catalog.groups:
            group_ids = st.sampled_from(sorted(g.id for g in catalog.groups))
    return {
        "item.id": item_ids,
        "item.name": words,
        "item.category": categories,
        "item.group": group_ids,
        "item.impact": levels,
        "item.urgency": levels,
        "item.physical": st.booleans(),
        "item.requires_approval": st.booleans(),
        "item.supplier": st.sampled_from(DEFAULT_SUPPLIERS),
        "item.attributes.size": scalars,
        "requester.id": slugs,
        "requester.vip": st.booleans(),
        "requester.department": words,
        "requester.location": words,
        "requester.manager": slugs,
        "channel": st.sampled_from([c.value for c in Channel]),
        "answers.cost": numbers,
        "answers.from_stock": st.booleans(),
        "answers.reason": words,
        "answers.quantity": st.integers(0, 100),
    }


def _operand(op: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if op in ("eq", "ne"):
        return values
    if op in ("in", "not_in"):
        return st.lists(values, max_size=3)
    if op in ("gt", "ge", "lt", "le"):
        return st.one_of(numbers, words)
    if op == "prefix":
        return st.text(alphabet=SLUG_CHARACTERS, max_size=3)
    if op == "regex":
        return st.sampled_from(_SAFE_REGEXES)
    return st.booleans()  # exists


@st.composite
def _expectations(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    form = draw(st.sampled_from(("eq", "in", "table")))
    if form == "eq":
        return draw(values)
    if form == "in":
        return draw(st.lists(values, max_size=3))
    ops = draw(st.lists(st.sampled_from(OPERATORS), min_size=1, max_size=2, unique=True))
    return {op: draw(_operand(op, values)) for op in ops}


@st.composite
def _conditions(
    draw: st.DrawFn, depth: int, facts: Mapping[str, st.SearchStrategy[Any]], min_size: int
) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(sorted(facts)), unique=True, max_size=3))
    condition: dict[str, Any] = {path: draw(_expectations(facts[path])) for path in paths}
    if depth > 0:
        if draw(st.booleans()):
            condition["any"] = draw(
                st.lists(_conditions(depth - 1, facts, 1), min_size=1, max_size=3)
            )
        if draw(st.booleans()):
            condition["not"] = draw(_conditions(depth - 1, facts, 1))
    if len(condition) < min_size:
        path = draw(st.sampled_from(sorted(facts)))
        condition[path] = draw(facts[path])
    return condition


def conditions(
    *, max_depth: int = 2, catalog: Catalog | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid rule conditions over ``item.*``, ``requester.*``, ``channel`` and ``answers.*``.

    Equality, membership lists and operator tables (every operator of the
    language; regexes from a small safe set), nested in ``any``/``not`` up to
    ``max_depth`` levels. With a ``catalog``, item ids, groups and categories
    are the catalog's, so conditions often match its requests. The empty
    condition (always true) can be drawn.

    >>> condition = conditions(max_depth=0).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[dict[str, Any]]:
        depth = check_int("max_depth", max_depth)
        if catalog is not None and not isinstance(catalog, Catalog):
            raise InvalidArgument(f"catalog={catalog!r} must be a Catalog or None")
        return _conditions(depth, fact_values(catalog), 0)

    return lazy(build)


_generic_thens: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.sampled_from(("group", "strategy", "category", "note")), words, max_size=2
)


def rules(
    *,
    names: st.SearchStrategy[str] | None = None,
    thens: st.SearchStrategy[Mapping[str, Any]] | None = None,
    catalog: Catalog | None = None,
    max_depth: int = 2,
) -> st.SearchStrategy[Rule]:
    """A single rule: a name, a condition from :func:`conditions` and a ``then`` table.

    >>> rule = rules(thens=st.just({"group": "desk"})).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Rule]:
        return st.builds(
            Rule,
            name=names if names is not None else slugs,
            when=conditions(max_depth=max_depth, catalog=catalog),
            then=thens if thens is not None else _generic_thens,
        )

    return lazy(build)


def _assignment_thens(catalog: Catalog | None) -> st.SearchStrategy[dict[str, Any]]:
    groups = (
        st.sampled_from(sorted(g.id for g in catalog.groups))
        if catalog is not None and catalog.groups
        else slugs
    )
    return st.fixed_dictionaries(
        {"group": groups}, optional={"strategy": st.sampled_from(STRATEGIES)}
    )


@st.composite
def _rule_sets(
    draw: st.DrawFn,
    catalog: Catalog | None,
    sizes: tuple[int, int],
    hit_policy: str | None,
    thens: st.SearchStrategy[Mapping[str, Any]],
    max_depth: int,
) -> RuleSet:
    names = draw(st.lists(slugs, min_size=sizes[0], max_size=sizes[1], unique=True))
    drawn = [
        draw(rules(names=st.just(name), thens=thens, catalog=catalog, max_depth=max_depth))
        for name in names
    ]
    policy = hit_policy if hit_policy is not None else draw(st.sampled_from(HIT_POLICIES))
    return RuleSet(drawn, policy)  # type: ignore[arg-type]


def rule_sets(
    *,
    catalog: Catalog | None = None,
    min_size: int = 0,
    max_size: int = 10,
    hit_policy: str | None = None,
    thens: st.SearchStrategy[Mapping[str, Any]] | None = None,
    max_depth: int = 2,
) -> st.SearchStrategy[RuleSet]:
    """Rule sets of ``min_size`` to ``max_size`` uniquely named rules.

    ``hit_policy`` None draws ``first`` or ``collect``. With a ``catalog``,
    conditions use its ids and the default ``then`` tables assign to its
    groups (``{"group": ..., "strategy": ...}``).

    >>> ruleset = rule_sets(catalog=demo_catalog(), max_size=5).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[RuleSet]:
        sizes = check_sizes("size", min_size, max_size)
        if hit_policy is not None and hit_policy not in HIT_POLICIES:
            raise InvalidArgument(f"hit_policy={hit_policy!r} must be one of {HIT_POLICIES}")
        if catalog is not None and not isinstance(catalog, Catalog):
            raise InvalidArgument(f"catalog={catalog!r} must be a Catalog or None")
        depth = check_int("max_depth", max_depth)
        if thens is not None:
            then_strategy: st.SearchStrategy[Mapping[str, Any]] = thens
        elif catalog is not None:
            then_strategy = _assignment_thens(catalog)
        else:
            then_strategy = _generic_thens
        return _rule_sets(catalog, sizes, hit_policy, then_strategy, depth)

    return lazy(build)


def priority_matrices() -> st.SearchStrategy[PriorityMatrix]:
    """Priority matrices: the ITIL matrix with some cells changed.

    >>> matrix = priority_matrices().example()  # doctest: +SKIP
    """
    rows = st.dictionaries(st.sampled_from(Urgency), st.sampled_from(Priority), max_size=3)
    return st.builds(PriorityMatrix, st.dictionaries(st.sampled_from(Impact), rows, max_size=3))


def routing_rules(
    *, catalog: Catalog | None = None, max_size: int = 5, max_depth: int = 1
) -> st.SearchStrategy[Rules]:
    """The three rule sets of :class:`~reqfulfill.rules.Rules` with valid ``then`` tables.

    >>> routing = routing_rules(catalog=demo_catalog()).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Rules]:
        size = check_int("max_size", max_size)
        categories = (
            st.sampled_from(sorted(catalog.categories))
            if catalog is not None and catalog.categories
            else words
        )
        prioritization = st.one_of(
            st.fixed_dictionaries({"impact": levels}, optional={"urgency": levels}),
            st.fixed_dictionaries({"urgency": levels}),
        )

        def part(thens: st.SearchStrategy[Mapping[str, Any]]) -> st.SearchStrategy[RuleSet]:
            return rule_sets(catalog=catalog, max_size=size, thens=thens, max_depth=max_depth)

        return st.builds(
            Rules,
            assignment=part(_assignment_thens(catalog)),
            categorization=part(st.fixed_dictionaries({"category": categories})),
            prioritization=part(prioritization),
            matrix=priority_matrices(),
        )

    return lazy(build)
