"""The JSON Schemas of the data forms: shipped as generated, agreeing with the loaders,
and the reference page written from them."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from reqfulfill.cli import main
from reqfulfill.model.approval import ApprovalPolicy, ApprovalStage
from reqfulfill.model.catalog import (
    Catalog,
    IntakeSettings,
    PlanTemplate,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
)
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import RULE_KEYS, RULES_KEYS, RULESET_KEYS, THEN_KEYS, Rules
from reqfulfill.schemas import FORMS, schema, schema_text, shipped_text
from reqfulfill.schemas.reference import reference
from reqfulfill.sla import CALENDAR_KEYS, ESCALATION_LEVEL_KEYS, POLICY_KEYS, SlaPolicy
from reqfulfill.testing import strategies

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "formats.md"
LOADERS = {"catalog": Catalog.from_dict, "rules": Rules.from_dict, "sla": SlaPolicy.from_dict}
EXAMPLES = {
    "catalog": ["examples/catalog.toml", "tests/data/rules/catalog.toml"],
    "rules": [
        "examples/rules/rules.toml",
        "examples/rules/rules_new.toml",
        "tests/data/rules/rules.toml",
        "tests/data/rules/rules_new.toml",
    ],
    "sla": ["examples/sla.toml"],
}


def as_json(data: Any) -> Any:
    """TOML data as JSON holds it (dates as ISO strings)."""
    return json.loads(json.dumps(data, default=str))


def validator(form: str) -> Any:
    return jsonschema.Draft202012Validator(
        schema(form), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_errors(form: str, data: Any) -> list[str]:
    return [error.message for error in validator(form).iter_errors(as_json(data))]


def page_examples(form: str) -> list[dict[str, Any]]:
    """The TOML examples of ``form``'s section of docs/formats.md."""
    title = {"catalog": "## Catalog files", "rules": "## Rules files", "sla": "## SLA policy"}
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(title[form])
    end = text.index(f"<!-- schema:{form} -->")
    blocks = re.findall(r"^```toml\n(.*?)^```", text[start:end], re.DOTALL | re.MULTILINE)
    return [tomllib.loads(block) for block in blocks]


@pytest.mark.parametrize("form", FORMS)
def test_the_shipped_schema_is_the_generated_one(form: str) -> None:
    """``scripts/schemas.py --write`` regenerates them after a change to a data form."""
    assert shipped_text(form) == schema_text(form)


@pytest.mark.parametrize("form", FORMS)
def test_each_schema_is_a_valid_draft_2020_12_schema(form: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(form))


@pytest.mark.parametrize("form", FORMS)
def test_the_reference_page_is_written_from_the_schema(form: str) -> None:
    text = PAGE.read_text(encoding="utf-8")
    found = re.search(rf"<!-- schema:{form} -->\n\n(.*?)\n<!-- /schema:{form} -->", text, re.DOTALL)
    assert found is not None
    assert found.group(1) == reference(form), (
        "run: PYTHONPATH=src python scripts/schemas.py --write"
    )


@pytest.mark.parametrize("form", FORMS)
def test_the_command_prints_the_shipped_schema(
    form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", form]) == 0
    assert json.loads(capsys.readouterr().out) == schema(form)


def example_files() -> Iterator[tuple[str, str]]:
    for form, paths in EXAMPLES.items():
        for path in paths:
            yield form, path


@pytest.mark.parametrize(("form", "path"), list(example_files()))
def test_the_example_files_validate_and_load(form: str, path: str) -> None:
    data = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))
    assert schema_errors(form, data) == []
    LOADERS[form](data)


@pytest.mark.parametrize("form", FORMS)
def test_the_page_examples_validate_and_load(form: str) -> None:
    examples = page_examples(form)
    assert examples
    for data in examples:
        assert schema_errors(form, data) == []
        LOADERS[form](data)


# -- the schema and the loader agree on the keys ----------------------------------------


def test_the_catalog_schema_has_exactly_the_fields_the_converter_structures() -> None:
    found = schema("catalog")
    tables = {"Catalog": found, **found["$defs"]}
    classes = (
        Catalog,
        ServiceItem,
        SupportGroup,
        PlanTemplate,
        TaskTemplate,
        ApprovalPolicy,
        ApprovalStage,
        IntakeSettings,
    )
    assert sorted(tables) == sorted(cls.__name__ for cls in classes)
    for cls in classes:
        fields = [f for f in attrs.fields(cls) if f.init]
        body = tables[cls.__name__]
        assert list(body["properties"]) == [f.name for f in fields]
        required = [f.name for f in fields if f.default is attrs.NOTHING]
        assert body.get("required", []) == required  # a table of defaults only has none


def test_the_rules_and_sla_schemas_have_exactly_the_keys_their_loaders_check() -> None:
    rules = schema("rules")
    assert tuple(rules["properties"]) == RULES_KEYS
    for part, keys in THEN_KEYS.items():
        assert tuple(rules["$defs"][part]["properties"]) == RULESET_KEYS
        rule = rules["$defs"][f"{part}_rule"]
        assert tuple(rule["properties"]) == RULE_KEYS
        assert tuple(rule["properties"]["then"]["properties"]) == keys
    sla = schema("sla")
    assert tuple(sla["properties"]) == POLICY_KEYS
    assert tuple(sla["$defs"]["calendar"]["properties"]) == CALENDAR_KEYS
    assert tuple(sla["$defs"]["escalation_level"]["properties"]) == ESCALATION_LEVEL_KEYS


def tables_in(data: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every table of a file's data, with its path; free-form tables (conditions,
    attributes, targets, hours, the matrix) are left out: they take any key."""
    if isinstance(data, dict):
        yield path, data
        for key, value in data.items():
            if key in ("when", "attributes", "then", "targets", "hours", "priority_matrix"):
                continue
            yield from tables_in(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from tables_in(value, f"{path}[{index}]")


@pytest.mark.parametrize(("form", "path"), list(example_files()))
def test_an_unknown_key_in_any_table_is_refused_by_both(form: str, path: str) -> None:
    data = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))
    for where, _ in list(tables_in(data)):
        changed = copy.deepcopy(data)
        target = next(t for w, t in tables_in(changed) if w == where)
        target["colour"] = "red"
        assert schema_errors(form, changed), where
        with pytest.raises(ValidationError) as raised:
            LOADERS[form](changed)
        assert (f"{where}.colour" if where else "colour") in raised.value.paths


@pytest.mark.parametrize(("form", "path"), list(example_files()))
def test_every_optional_key_may_be_left_out_for_both(form: str, path: str) -> None:
    """Leaving out a key the schema calls optional loads (its default stands in)."""
    data = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))
    optional = {"catalog": ["triage_group"], "rules": list(RULES_KEYS), "sla": []}[form]
    optional += [k for k in POLICY_KEYS if k != "targets"] if form == "sla" else []
    for key in optional:
        changed = {k: v for k, v in data.items() if k != key}
        assert schema_errors(form, changed) == []
        LOADERS[form](changed)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.catalogs())
def test_every_valid_catalog_validates(catalog: Catalog) -> None:
    assert schema_errors("catalog", catalog.to_dict()) == []


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.routing_rules())
def test_every_valid_rules_file_validates(rules: Rules) -> None:
    assert schema_errors("rules", rules.to_dict()) == []


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.sla_policies())
def test_every_valid_sla_policy_validates(policy: SlaPolicy) -> None:
    assert schema_errors("sla", policy.to_dict()) == []


@pytest.mark.parametrize(
    ("form", "data"),
    [
        ("sla", {"targets": {"1": "4 hours"}}),
        ("sla", {"targets": {"6": "4h"}}),
        ("sla", {"targets": {"1": "4h"}, "calendar": {"hours": {"mon": ["9-5"]}}}),
        ("sla", {"targets": {"1": "4h"}, "escalation": [{"at": 0, "action": "notify"}]}),
        ("rules", {"assignment": {"rules": [{"name": "x", "then": {"strategy": "queue"}}]}}),
        ("rules", {"prioritization": {"rules": [{"name": "x", "then": {"impact": "huge"}}]}}),
        ("rules", {"priority_matrix": {"high": {"low": 9}}}),
        ("catalog", {"groups": [{"id": "", "name": "x"}], "plans": [], "items": []}),
        ("catalog", {"groups": [], "plans": [{"id": "p", "tasks": [{"key": "a"}]}], "items": []}),
    ],
)
def test_what_the_schema_refuses_the_loader_refuses(form: str, data: dict[str, Any]) -> None:
    assert schema_errors(form, data)
    with pytest.raises(ValidationError):
        LOADERS[form](data)
