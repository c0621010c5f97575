"""Malformed configuration: every refusal is a ``ValidationError`` naming a path.

Valid data forms drawn from ``reqfulfill.testing.strategies`` are mutated one
place at a time (wrong types, missing keys, unknown keys, unknown enum values,
huge strings, 10,000-deep nesting, cycles in ``after``) and fed to every
``from_dict``; TOML and JSON files are fed as random or truncated bytes.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from _oracle import (
    DEEP_DICT,
    DEEP_LIST,
    HUGE,
    WRONG_VALUES,
    check_refusal,
    mutate,
    paths,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reqfulfill.model.catalog import Catalog
from reqfulfill.rules import Rules, RuleSet
from reqfulfill.sla import BusinessCalendar, SlaPolicy
from reqfulfill.testing import DEMO_CATALOG
from reqfulfill.testing import strategies as rs

FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
KINDS = st.sampled_from(["replace", "replace", "delete", "unknown_key", "wrap", "cycle"])


class Mutated:
    """A mutated data form that prints short (hypothesis' printer chokes on deep values)."""

    def __init__(self, data: Any, description: str) -> None:
        self.data = data
        self.description = description

    def __repr__(self) -> str:
        return self.description


@st.composite
def mutated(draw: st.DrawFn, forms: st.SearchStrategy[Any]) -> Mutated:
    data = draw(forms)
    where = draw(st.sampled_from(paths(data)))
    kind = draw(KINDS)
    if kind == "delete" and not where:
        kind = "replace"
    index = draw(st.integers(-2, len(WRONG_VALUES) - 1))
    value = draw(st.text(max_size=20)) if index < 0 else WRONG_VALUES[index]
    shown = repr(value)[:60] if index < 0 else f"WRONG_VALUES[{index}]"
    return Mutated(
        mutate(data, where, kind, value),
        f"mutate({repr(data)[:2000]}, {where!r}, {kind!r}, {shown})",
    )


def _forms(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy.map(lambda value: value.to_dict())


LOADERS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "catalog": (Catalog.from_dict, _forms(rs.catalogs(max_items=3))),
    "rules": (Rules.from_dict, _forms(rs.routing_rules())),
    "rule_set": (RuleSet.from_dict, _forms(rs.rule_sets(max_size=4))),
    "calendar": (BusinessCalendar.from_dict, _forms(rs.calendars())),
    "sla_policy": (SlaPolicy.from_dict, _forms(rs.sla_policies())),
}


@pytest.mark.parametrize("name", sorted(LOADERS))
@FUZZ
@given(data=st.data())
def test_mutated_config_is_loaded_or_refused_with_paths(name: str, data: st.DataObject) -> None:
    load, forms = LOADERS[name]
    bad = data.draw(mutated(forms), label="mutated data form")
    check_refusal(lambda: load(bad.data))


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_valid_forms_still_load(name: str) -> None:
    """The oracle is not vacuous: unmutated data forms load."""
    load, forms = LOADERS[name]

    @settings(max_examples=10, suppress_health_check=list(HealthCheck))
    @given(forms)
    def loads(form: Any) -> None:
        assert check_refusal(lambda: load(form)) is None

    loads()


@pytest.mark.parametrize(
    ("mutation", "expected_path"),
    [
        (lambda d: d["items"][0].__setitem__("impact", "catastrophic"), "items[0].impact"),
        (lambda d: d["items"][0].__setitem__("plan", 5), "items[0].plan"),
        (lambda d: d["items"][0].pop("group"), "items[0]"),
        (lambda d: d["groups"][0].__setitem__("colour", "red"), "groups[0]"),
        (lambda d: d["plans"][0]["tasks"][0].__setitem__("kind", "teleport"), "plans[0].tasks"),
        (lambda d: d["items"][0].__setitem__("name", HUGE + 1j.__class__.__name__), ""),
        (lambda d: d["plans"][0]["tasks"][1].__setitem__("after", ["deliver"]), "plans[0].tasks"),
        (
            lambda d: d["plans"][0]["tasks"][0].__setitem__(
                "when", {"answers.x": {"regex": "(?=a)"}}
            ),
            "plans[0].tasks[0].when",
        ),
    ],
)
def test_known_bad_catalogs_name_their_path(mutation: Any, expected_path: str) -> None:
    data = json.loads(json.dumps(DEMO_CATALOG))
    mutation(data)
    error = check_refusal(lambda: Catalog.from_dict(data))
    if expected_path == "":  # a huge name is allowed: just no crash
        return
    assert error is not None, "the bad catalog loaded"
    assert any(p.path.startswith(expected_path) for p in error.problems), error.problems


@pytest.mark.parametrize(
    "then",
    [
        pytest.param({"impact": []}, id="impact-list"),
        pytest.param({"urgency": {"x": 1}}, id="urgency-table"),
        pytest.param({"impact": 5}, id="impact-number"),
        pytest.param({"impact": "severe"}, id="impact-unknown"),
    ],
)
def test_bad_prioritization_then_is_refused_with_its_path(then: Any) -> None:
    data = {"prioritization": {"rules": [{"name": "p", "when": {}, "then": then}]}}
    error = check_refusal(lambda: Rules.from_dict(data))
    assert error is not None
    assert any(p.path.startswith("prioritization.rules[0].then") for p in error.problems)


def test_deeply_nested_then_is_refused() -> None:
    data = {"rules": [{"name": "a", "when": {}, "then": {"group": "g", "x": DEEP_LIST}}]}
    check_refusal(lambda: RuleSet.from_dict(data))


@pytest.mark.parametrize(
    ("where", "value"),
    [
        pytest.param(("groups", 0, "members"), DEEP_LIST, id="members-deep-list"),
        pytest.param(("items", 0, "attributes"), DEEP_DICT, id="attributes-deep-dict"),
        pytest.param(("items", 0, "name"), DEEP_LIST, id="name-deep-list"),
        pytest.param(("plans",), DEEP_LIST, id="plans-deep-list"),
        pytest.param((), DEEP_DICT, id="root-deep-dict"),
    ],
)
def test_deeply_nested_catalog_values_are_refused_with_paths(where: Any, value: Any) -> None:
    data = mutate(json.loads(json.dumps(DEMO_CATALOG)), where, "replace", value)
    check_refusal(lambda: Catalog.from_dict(data))


def test_cycle_in_after_is_reported_with_its_path() -> None:
    data = json.loads(json.dumps(DEMO_CATALOG))
    data["plans"][0]["tasks"][0]["after"] = ["deliver"]
    error = check_refusal(lambda: Catalog.from_dict(data))
    assert error is not None
    assert any("cycle" in p.reason for p in error.problems), error.problems


RULE_OPERATORS = st.sampled_from(
    [
        *("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "prefix", "regex", "exists"),
        *("gte", "like", "", "$where", "__class__", "eval"),
    ]
)
# regexes RE2 refuses (it never backtracks: the catastrophic shapes like "(a+)+$" load and
# run in linear time, see tests/security/test_regex_bounds.py)
REFUSED_REGEXES = [
    "(?=a)",
    "(?<=a)b",
    "a++",
    "(?>a+)b",
    "^(a+)\\1$",
    "(?P<x>a)(?P=x)",
    "(?(1)a|b)",
    "(?x)(a+) +$",
    "a{0,999}a{0,999}a{0,999}b",
    "[",
    "(",
    "x" * 300,
]


@FUZZ
@given(
    path=st.sampled_from(["answers.text", "requester.name", "item.id", "channel", "nope.x", 5]),
    op=RULE_OPERATORS,
    operand=st.sampled_from([*REFUSED_REGEXES, "a{99999999999}"])
    | st.sampled_from(WRONG_VALUES)
    | st.text(max_size=30),
    part=st.sampled_from(["assignment", "categorization", "prioritization", "bogus"]),
)
def test_rule_files_with_bad_conditions_are_refused_with_paths(
    path: Any, op: str, operand: Any, part: str
) -> None:
    data = {part: {"rules": [{"name": "r", "when": {path: {op: operand}}, "then": {}}]}}
    error = check_refusal(lambda: Rules.from_dict(data))
    if op == "regex" and operand in REFUSED_REGEXES:
        assert error is not None, f"regex {operand!r} was accepted"


@pytest.mark.parametrize("pattern", REFUSED_REGEXES)
def test_regexes_re2_refuses_are_rejected_at_load(pattern: str) -> None:
    _rejected(pattern)


def test_a_huge_repeat_count_is_rejected_at_load() -> None:
    _rejected("a{1001}")


def _rejected(pattern: str) -> None:
    data = {"rules": [{"name": "r", "when": {"answers.text": {"regex": pattern}}, "then": {}}]}
    error = check_refusal(lambda: RuleSet.from_dict(data))
    assert error is not None
    assert error.problems[0].path.startswith("rules[0].when"), error.problems


# -- files: TOML and JSON text -------------------------------------------------------------

_DIR = Path(tempfile.mkdtemp(prefix="rf-fuzz-"))
_CATALOG_TOML = (Path(__file__).parents[2] / "examples" / "catalog.toml").read_text()
_CATALOG_JSON = json.dumps(DEMO_CATALOG)


def _write(name: str, content: bytes) -> Path:
    path = _DIR / name
    path.write_bytes(content)
    return path


FILE_LOADERS = [Catalog.from_toml, Rules.from_toml, RuleSet.from_toml, SlaPolicy.from_toml]


@FUZZ
@given(
    content=st.binary(max_size=300)
    | st.integers(0, len(_CATALOG_TOML)).map(lambda n: _CATALOG_TOML[:n].encode())
    | st.integers(0, len(_CATALOG_JSON)).map(lambda n: _CATALOG_JSON[:n].encode()),
    suffix=st.sampled_from([".toml", ".json"]),
    loader=st.sampled_from(FILE_LOADERS),
)
def test_random_and_truncated_files_are_refused_with_paths(
    content: bytes, suffix: str, loader: Any
) -> None:
    path = _write("config" + suffix, content)
    check_refusal(lambda: loader(path))


def test_a_truncated_catalog_names_the_file() -> None:
    path = _write("cut.toml", _CATALOG_TOML[: len(_CATALOG_TOML) // 2].encode() + b"[[items")
    error = check_refusal(lambda: Catalog.from_toml(path))
    assert error is not None
    assert str(path) in str(error)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_deeply_nested_files_are_refused(suffix: str) -> None:
    if suffix == ".json":
        content = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    else:
        content = b"items = " + b"[" * 100_000 + b"]" * 100_000
    path = _write("deep" + suffix, content)
    assert check_refusal(lambda: Catalog.from_toml(path)) is not None


def test_missing_file_is_a_validation_error() -> None:
    error = check_refusal(lambda: Catalog.from_toml(_DIR / "nope.toml"))
    assert error is not None


def test_toml_parser_agrees_on_the_example_catalog() -> None:
    """The file fuzzing starts from a valid file."""
    assert tomllib.loads(_CATALOG_TOML)
    assert (
        check_refusal(lambda: Catalog.from_toml(_write("ok.toml", _CATALOG_TOML.encode()))) is None
    )


def test_deeply_nested_pause_state_is_refused() -> None:
    data = SlaPolicy.default().to_dict()
    data["pause_in"] = [DEEP_LIST]
    assert check_refusal(lambda: SlaPolicy.from_dict(data)) is not None
