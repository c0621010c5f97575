"""The metric rollup of the SQL stores (``stores._rollup``): for any sequence of facts
changes, caught up in any batches, the rollup gives the tallies computed from scratch
from the final facts rows (and the same metrics rows); histogram blobs round-trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import hypothesis
from hypothesis import strategies as st

from reqfulfill.metrics import rows_from_tallies
from reqfulfill.stores._facts import (
    METRIC_DIMENSIONS,
    Histogram,
    MetricFacts,
    MetricsTally,
    tally,
)
from reqfulfill.stores._rollup import (
    Deltas,
    Rollup,
    applied,
    changed,
    decode,
    encode,
    histogram_of,
    key_of,
    stored_key,
    tallies_of,
)

# a facts row in ROLLED_COLUMNS order: item, grp, agent, closed, assign_ch, fulfil_ch,
# sla_met, rating, escalations, surveyed, source
_flag = st.none() | st.sampled_from([0, 1])
facts_rows = st.tuples(
    st.sampled_from([None, "item-a", "item-b", ""]),
    st.sampled_from([None, "desk", "l2"]),
    st.sampled_from([None, "sam", "lee", "kim"]),
    st.sampled_from([0, 1]),
    st.none() | st.integers(0, 40),
    st.none() | st.integers(0, 40),
    _flag,
    st.none() | st.integers(1, 5),
    st.integers(0, 3),
    _flag,
    st.sampled_from([None, "stock", "supplier", "mixed"]),
)


def _facts_of(row: Sequence[Any]) -> MetricFacts:
    _, _, _, _, assign, fulfil, sla_met, rating, escalations, surveyed, source = row
    return MetricFacts(
        assign_ch=assign,
        fulfil_ch=fulfil,
        sla_met=None if sla_met is None else bool(sla_met),
        rating=rating,
        escalations=escalations,
        surveyed=None if surveyed is None else bool(surveyed),
        source=source,
    )


def _from_scratch(facts: dict[str, Sequence[Any]], dim: str) -> list[MetricsTally]:
    column = METRIC_DIMENSIONS.index(dim)
    return tally((row[column], row[3] == 1, _facts_of(row)) for row in facts.values())


class _Sim:
    """The catch-up of ``_rollup.catch_up`` over dicts: facts rows, rolled copies, the
    rollup rows (stored as the SQL stores store them)."""

    def __init__(self) -> None:
        self.facts: dict[str, Sequence[Any]] = {}
        self.rolled: dict[str, Sequence[Any]] = {}
        self.dirty: set[str] = set()
        self.rollup: Rollup = {}

    def write(self, request_id: str, row: Sequence[Any]) -> None:
        self.facts[request_id] = row
        self.dirty.add(request_id)

    def catch_up(self, limit: int) -> None:
        deltas = Deltas()
        for request_id in sorted(self.dirty)[:limit]:
            deltas.change(self.rolled.get(request_id), self.facts[request_id])
            self.rolled[request_id] = self.facts[request_id]
            self.dirty.discard(request_id)
        upserts, deletes = applied(self.rollup, deltas)
        for dim, key, *values in upserts:
            self.rollup[dim, key_of(key)] = (list(values[:11]), list(values[11:]))
        for dim, key in deletes:
            del self.rollup[dim, key_of(key)]

    def tallies(self, dim: str) -> list[MetricsTally]:
        return tallies_of(
            (stored_key(key), *sums, *blobs)
            for (d, key), (sums, blobs) in self.rollup.items()
            if d == dim
        )


def _by_key(tallies: list[MetricsTally]) -> dict[str | None, MetricsTally]:
    return {t.key: t for t in tallies}


@hypothesis.given(
    changes=st.lists(
        st.tuples(st.sampled_from(["R-1", "R-2", "R-3", "R-4", "R-5"]), facts_rows, st.booleans()),
        max_size=40,
    ),
    limit=st.integers(1, 6),
)
def test_the_rollup_after_catch_ups_is_the_tally_of_the_final_facts(
    changes: list[tuple[str, tuple[Any, ...], bool]], limit: int
) -> None:
    sim = _Sim()
    for request_id, row, catch_up in changes:
        sim.write(request_id, row)
        if catch_up:  # some caught up now, in batches of ``limit``; the rest later
            sim.catch_up(limit)
    sim.catch_up(len(sim.facts) + 1)
    assert not sim.dirty
    for dim in METRIC_DIMENSIONS:
        expected = _from_scratch(sim.facts, dim)
        got = sim.tallies(dim)
        assert _by_key(got) == _by_key(expected)
        assert rows_from_tallies(got) == rows_from_tallies(expected)
    assert all(sums[0] > 0 for sums, _ in sim.rollup.values())  # no empty rows kept


@hypothesis.given(st.dictionaries(st.integers(-(1 << 40), 1 << 40), st.integers(1, 1 << 40)))
def test_a_histogram_blob_round_trips(histogram: dict[int, int]) -> None:
    blob = encode(histogram)
    values, running = decode(blob)
    assert list(values) == sorted(histogram)
    assert list(Histogram(values, running)) == sorted(histogram.items())
    fits = all(-(1 << 31) <= v < 1 << 31 for v in histogram) and sum(histogram.values()) < 1 << 31
    assert blob[:1] == (b"" if not histogram else b"4" if fits else b"8")
    decoded = histogram_of(blob) if histogram else Histogram([], [])
    assert dict(decoded) == histogram
    assert decoded == tuple(sorted(histogram.items()))
    assert hash(decoded) == hash(tuple(sorted(histogram.items())))
    assert decoded.total() == sum(histogram.values())
    if histogram:
        assert decoded[-1] == max(histogram.items())
        assert decoded[:1] == (min(histogram.items()),)


@hypothesis.given(
    st.dictionaries(st.integers(-50, 50), st.integers(1, 4)),
    st.dictionaries(st.integers(-60, 60), st.integers(-4, 4)),
    st.sampled_from([0, 1 << 40]),
    st.sampled_from([0, 1 << 40]),
)
def test_a_changed_blob_is_the_blob_of_the_changed_histogram(
    histogram: dict[int, int], change: dict[int, int], big: int, big_change: int
) -> None:
    histogram = {v + big: n for v, n in histogram.items()}
    change = {v + big_change: max(n, -histogram.get(v + big_change, 0)) for v, n in change.items()}
    expected = {v: histogram.get(v, 0) + change.get(v, 0) for v in {*histogram, *change}}
    expected = {v: n for v, n in expected.items() if n}
    got = changed(encode(histogram), change)
    assert (dict(histogram_of(got)) if got else {}) == expected
    if not big and not big_change:  # 32-bit blobs stay so while they fit
        assert got[:1] in (b"", b"4")


@hypothesis.given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 5)), unique_by=lambda p: p[0])
)
def test_percentiles_of_a_histogram_equal_those_of_its_pairs(pairs: list[tuple[int, int]]) -> None:
    pairs.sort()
    blob = encode(dict(pairs))
    as_tuple = tuple(pairs)
    decoded = histogram_of(blob)
    one = MetricsTally("k", 1, 0, 0, 0, 0, 0, 0, 0, fulfil=as_tuple)
    other = MetricsTally("k", 1, 0, 0, 0, 0, 0, 0, 0, fulfil=decoded)
    assert one == other
    assert rows_from_tallies([one]) == rows_from_tallies([other])
    # merged with a tally of the same row key ("(none)" and None are one row)
    none = MetricsTally(None, 1, 0, 0, 0, 0, 0, 0, 0, fulfil=decoded)
    text = MetricsTally("(none)", 1, 0, 0, 0, 0, 0, 0, 0, fulfil=as_tuple)
    assert rows_from_tallies([none, text]) == rows_from_tallies(
        [attrs.evolve(none, fulfil=as_tuple), text]
    )
