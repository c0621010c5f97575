"""Configuration files and durations are read strictly: what is not plain data is refused.

JSON files refuse duplicate keys (with the table's path), ``NaN``/``Infinity``,
numbers too large for a float and integers over 4,300 digits (with the line); TOML
files refuse ``nan``/``inf`` and huge integers the same way. Durations take ASCII
digits only, parse exactly and stop at ``timedelta.max``. Each refusal is a
``ValidationError`` (or, for ``parse_duration`` on its own, a ``ValueError``).
"""

from __future__ import annotations

import doctest
import json
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.cli import support
from reqfulfill.model import catalog
from reqfulfill.model.errors import ValidationError
from reqfulfill.serialization import config, strict_json
from reqfulfill.serialization.config import format_duration, load_data_file, parse_duration
from reqfulfill.serialization.strict_json import MAX_INT_DIGITS, parse_json


@pytest.mark.parametrize("module", [strict_json, config, support, catalog], ids=str)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def refused(text: str, suffix: str, tmp_path: Path) -> ValidationError:
    path = tmp_path / f"config{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_data_file(path)
    return caught.value


def test_a_duplicate_key_is_refused_with_the_path_of_its_table(tmp_path: Path) -> None:
    text = '{"plans": [{"id": "p", "tasks": [{"key": "a"}, {"key": "b", "key": "c"}]}]}'
    error = refused(text, ".json", tmp_path)
    assert error.paths == ["plans[0].tasks[1].key"]
    assert "duplicate key 'key'" in str(error)
    assert str(error).startswith(str(tmp_path / "config.json"))


def test_the_first_duplicate_at_the_top_is_named_by_its_key(tmp_path: Path) -> None:
    error = refused('{"items": [],\n "groups": [],\n "items": [1]}', ".json", tmp_path)
    assert error.paths == ["items"]


@pytest.mark.parametrize(
    ("text", "line", "token"),
    [
        ('{"a": NaN}', 1, "NaN"),
        ('{"a": "NaN",\n "b": [1,\n Infinity]}', 3, "Infinity"),
        ('{"a": -Infinity}', 1, "-Infinity"),
        ('{"text": "1e400",\n "n": 1e400}', 2, "1e400"),
        ('{"n": -2.5e999}', 1, "-2.5e999"),
    ],
)
def test_numbers_that_are_not_finite_are_refused_at_their_line(
    text: str, line: int, token: str, tmp_path: Path
) -> None:
    error = refused(text, ".json", tmp_path)
    (problem,) = error.problems
    assert problem.path == f"{tmp_path / 'config.json'}:{line}"
    assert problem.value == token
    assert "finite" in problem.reason


def test_an_integer_over_the_digit_limit_is_refused_at_its_line(tmp_path: Path) -> None:
    big = "9" * (MAX_INT_DIGITS + 1)
    error = refused(
        f'{{"ok": {"9" * MAX_INT_DIGITS},\n "s": "{big}",\n "n": -{big}}}', ".json", tmp_path
    )
    (problem,) = error.problems
    assert problem.path.endswith(":3")
    assert problem.value == f"<integer of {MAX_INT_DIGITS + 1} digits>"


def test_the_digit_limit_itself_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(f'{{"n": {"9" * MAX_INT_DIGITS}}}', encoding="utf-8")
    assert load_data_file(path)["n"] == 10**MAX_INT_DIGITS - 1


@pytest.mark.parametrize(
    ("text", "line"),
    [("a = 1\nb = nan\n", 2), ("a = [1.5,\n  -inf]\n", 2), ("x = +inf\n", 1)],
)
def test_toml_nan_and_inf_are_refused_at_their_line(text: str, line: int, tmp_path: Path) -> None:
    error = refused(text, ".toml", tmp_path)
    assert error.paths == [f"{tmp_path / 'config.toml'}:{line}"]


def test_a_huge_toml_integer_is_refused_at_its_line(tmp_path: Path) -> None:
    error = refused(f'a = 1\nb = "x"\nc = {"1" * 5000}\n', ".toml", tmp_path)
    assert error.paths == [f"{tmp_path / 'config.toml'}:3"]


def test_a_duplicate_toml_key_is_refused(tmp_path: Path) -> None:
    error = refused("a = 1\na = 2\n", ".toml", tmp_path)
    assert "invalid TOML" in str(error)


# -- strict JSON agrees with json.loads on plain data ----------------------------------

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(plain)
def test_plain_json_reads_as_json_loads_reads_it(value: Any) -> None:
    text = json.dumps(value)
    assert parse_json(text, source="x.json") == json.loads(text)


@given(st.dictionaries(st.text(), plain, min_size=1, max_size=4), st.data())
def test_any_repeated_key_is_found_with_its_path(
    table: dict[str, Any], data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(sorted(table)))
    body = json.dumps(table)[1:-1]
    text = f'{{"outer": [{{{body}, {json.dumps(key)}: 0}}]}}'
    with pytest.raises(ValidationError) as caught:
        parse_json(text, source="x.json")
    assert caught.value.paths == [f"outer[0].{key}"]


# -- durations ---------------------------------------------------------------------------


@given(st.timedeltas(min_value=timedelta(0)))
def test_every_duration_round_trips_exactly(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    "text",
    [
        "\u0664h",  # Arabic-Indic four
        "\uff14h",  # fullwidth four
        "1\u0660m",
        "\u09e8d",  # Bengali two
        "1.\u0665s",
        "4 h",
        "4H",
        "-4h",
        "1h1d",
        "1.5h",
        "1.1234567s",
    ],
)
def test_anything_but_the_ascii_forms_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1000000000d", "999999999d24h", "9" * 19 + "s", "7" * 5000 + "d"])
def test_a_duration_over_the_largest_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="longer than the largest duration"):
        parse_duration(text)


def test_the_largest_duration_parses() -> None:
    assert parse_duration(format_duration(timedelta.max)) == timedelta.max
