"""JSON Schemas of the three data forms: catalog, rules and SLA policy files.

Each schema is generated from the definitions the loaders use, so it cannot say
something the loader does not:

* **catalog**: the attrs fields of :class:`~reqfulfill.model.catalog.Catalog` and its
  value types (the converter structures exactly these), with their types, defaults
  and the descriptions in each field's ``metadata["doc"]``;
* **rules**: the key tables the rules loader checks against
  (:data:`~reqfulfill.rules.RULES_KEYS`, :data:`~reqfulfill.rules.RULESET_KEYS`,
  :data:`~reqfulfill.rules.RULE_KEYS`, :data:`~reqfulfill.rules.THEN_KEYS`) and its
  value sets (hit policies, strategies, impact and urgency);
* **sla**: :data:`~reqfulfill.sla.POLICY_KEYS`, :data:`~reqfulfill.sla.CALENDAR_KEYS`,
  :data:`~reqfulfill.sla.ESCALATION_LEVEL_KEYS`, the duration, business-day and
  interval patterns and the defaults of :class:`~reqfulfill.sla.SlaPolicy`.

The generated schemas ship in the package as ``catalog.json``, ``rules.json`` and
``sla.json`` next to this module (a test checks that generating them again gives the
same bytes; ``python -m reqfulfill.schemas --write`` rewrites them and the reference
tables of ``docs/formats.md``). ``reqfulfill schema catalog|rules|sla`` prints them.

A schema checks the form (keys, types, value sets, patterns); the loader checks more:
references between entries (an item's group exists), plan cycles, the rule language
inside conditions, calendar hours that overlap. ``reqfulfill check`` does both.

>>> sorted(schema("rules")["properties"])
['assignment', 'categorization', 'priority_matrix', 'prioritization']
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs

from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import Impact, Priority, RequestState, Urgency
from reqfulfill.rules import (
    HIT_POLICIES,
    PARTS,
    RULE_KEYS,
    RULES_KEYS,
    RULESET_KEYS,
    STRATEGIES,
    THEN_KEYS,
)
from reqfulfill.serialization.config import DURATION_PATTERN, converter
from reqfulfill.sla import (
    BUSINESS_DAYS_PATTERN,
    CALENDAR_KEYS,
    DEFAULT_ESCALATION,
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    ESCALATION_ACTIONS,
    ESCALATION_LEVEL_KEYS,
    INTERVAL_PATTERN,
    MAX_BUSINESS_DAYS,
    POLICY_KEYS,
    WEEKDAYS,
    SlaPolicy,
)

__all__ = ["DRAFT", "FORMS", "schema", "schema_text", "shipped_text"]

FORMS: Final = ("catalog", "rules", "sla")
"""The data forms that have a schema, in the order ``reqfulfill schema`` lists them."""

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect of the schemas."""

_ID = "https://github.com/reqfulfill/reqfulfill/blob/main/src/reqfulfill/schemas/{}.json"

CONDITION_DOC: Final = (
    "a condition in the rule language (docs/rules.md): fact path -> value or "
    "{operator: value}, with any / all / not; an empty table always holds"
)


def schema(form: str) -> dict[str, Any]:
    """The JSON Schema of ``form`` (``"catalog"``, ``"rules"`` or ``"sla"``)."""
    if form == "catalog":
        return _catalog_schema()
    if form == "rules":
        return _rules_schema()
    if form == "sla":
        return _sla_schema()
    raise ValueError(f"unknown data form {form!r}; expected one of {', '.join(FORMS)}")


def schema_text(form: str) -> str:
    """The schema as the shipped file holds it: JSON, two-space indent, a final newline."""
    return json.dumps(schema(form), indent=2, ensure_ascii=False) + "\n"


def shipped_text(form: str) -> str:
    """The schema file shipped in the package (what ``reqfulfill schema`` prints)."""
    if form not in FORMS:
        raise ValueError(f"unknown data form {form!r}; expected one of {', '.join(FORMS)}")
    return resources.files(__name__).joinpath(f"{form}.json").read_text(encoding="utf-8")


def _top(form: str, title: str, description: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": _ID.format(form), "title": title, "description": description}


def _values(cls: type[enum.Enum]) -> list[Any]:
    return [member.value for member in cls]


# -- catalog: from the attrs fields -------------------------------------------------------


def _first_paragraph(cls: type) -> str:
    text = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(text.split())


def _type_schema(t: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of a value the converter structures as ``t``."""
    if t is str:
        return {"type": "string"}
    if t is bool:
        return {"type": "boolean"}
    if t is int:
        return {"type": "integer"}
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return {"enum": _values(t)}
    if attrs.has(t):
        name = t.__name__
        if name not in defs:
            defs[name] = {}  # reserve the name first: a type may refer to itself
            defs[name] = _attrs_schema(t, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin, args = get_origin(t), get_args(t)
    if origin in (Union, UnionType) and NoneType in args:
        (inner,) = [a for a in args if a is not NoneType]
        found = _type_schema(inner, defs)
        if set(found) == {"type"}:
            return {"type": [found["type"], "null"]}
        return {"anyOf": [found, {"type": "null"}]}
    if origin in (tuple, list, Sequence):
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin in (dict, Mapping):
        return {"type": "object"}
    raise TypeError(f"no schema for the field type {t!r}")


def _attrs_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    """An attrs class's data form: its init fields, the ones without a default required."""
    attrs.resolve_types(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        if not field.init:
            continue
        entry = _type_schema(field.type, defs)
        if "min_length" in field.metadata:
            entry["minLength"] = field.metadata["min_length"]
        doc = field.metadata.get("doc")
        described = {"description": doc} if doc else {}
        if field.default is attrs.NOTHING:
            required.append(field.name)
        else:
            default = field.default
            value = default.factory() if isinstance(default, attrs.Factory) else default  # type: ignore[arg-type]
            described["default"] = converter.unstructure(value)
        properties[field.name] = {**described, **entry}
    out: dict[str, Any] = {
        "type": "object",
        "description": _first_paragraph(cls),
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def _catalog_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    body = _attrs_schema(Catalog, defs)
    top = _top(
        "catalog",
        "reqfulfill catalog",
        "A service catalog file: the groups that fulfil requests, the plans that "
        "fulfil items and the items that can be ordered (Catalog.from_toml).",
    )
    return {**top, **{k: v for k, v in body.items() if k != "description"}, "$defs": defs}


# -- rules: from the rules loader's key tables -------------------------------------------

_THEN_VALUES: Final[Mapping[str, dict[str, Any]]] = {
    "group": {"type": "string", "minLength": 1, "description": "the group to assign to"},
    "strategy": {
        "enum": list(STRATEGIES),
        "default": "queue",
        "description": "queue: the group's queue; round_robin and least_loaded pick an agent",
    },
    "category": {"type": "string", "minLength": 1, "description": "the category to set"},
    "impact": {"enum": _values(Impact), "description": "the impact to set"},
    "urgency": {"enum": _values(Urgency), "description": "the urgency to set"},
}
"""The value of each key a ``then`` table may hold (the keys come from ``THEN_KEYS``)."""

_PART_DOCS: Final[Mapping[str, str]] = {
    "assignment": "which group (and how an agent is picked) a request goes to",
    "categorization": "which category a request gets",
    "prioritization": "the impact and/or urgency a request gets; the matrix gives the priority",
}

_PART_REQUIRED: Final[Mapping[str, list[str]]] = {
    "assignment": ["group"],
    "categorization": ["category"],
    "prioritization": [],
}


def _then_schema(part: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": f"what the rule decides for {part}",
        "properties": {key: _THEN_VALUES[key] for key in THEN_KEYS[part]},
        "additionalProperties": False,
    }
    if _PART_REQUIRED[part]:
        out["required"] = _PART_REQUIRED[part]
    else:
        out["minProperties"] = 1
    return out


def _rule_schema(part: str) -> dict[str, Any]:
    values = {
        "name": {
            "type": "string",
            "minLength": 1,
            "description": "the rule's name, unique in its rule set ('item default' is reserved)",
        },
        "when": {"type": "object", "default": {}, "description": CONDITION_DOC},
        "then": _then_schema(part),
    }
    return {
        "type": "object",
        "description": f"one {part} rule: when its condition holds, what it decides",
        "properties": {key: values[key] for key in RULE_KEYS},
        "required": ["name", "then"],
        "additionalProperties": False,
    }


def _ruleset_schema(part: str) -> dict[str, Any]:
    values = {
        "rules": {
            "type": "array",
            "default": [],
            "description": "the rules, tried in order",
            "items": {"$ref": f"#/$defs/{part}_rule"},
        },
        "hit_policy": {
            "enum": list(HIT_POLICIES),
            "default": "first",
            "description": "first: the first matching rule decides; collect: every match",
        },
    }
    return {
        "type": "object",
        "description": _PART_DOCS[part],
        "properties": {key: values[key] for key in RULESET_KEYS},
        "additionalProperties": False,
    }


def _matrix_schema() -> dict[str, Any]:
    row = {
        "type": "object",
        "description": "urgency -> priority",
        "properties": {
            u: {"type": "integer", "minimum": 1, "maximum": len(Priority)} for u in _values(Urgency)
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "description": "impact -> urgency -> priority (1 to 5); cells left out keep the ITIL "
        "matrix's value",
        "properties": {impact: row for impact in _values(Impact)},
        "additionalProperties": False,
    }


def _rules_schema() -> dict[str, Any]:
    values: dict[str, Any] = {
        part: {"description": f"the {part} rule set", "$ref": f"#/$defs/{part}"} for part in PARTS
    }
    values["priority_matrix"] = {
        "description": "the priority of each impact and urgency (default: ITIL's)",
        "$ref": "#/$defs/priority_matrix",
    }
    defs: dict[str, Any] = {}
    for part in PARTS:
        defs[part] = _ruleset_schema(part)
        defs[f"{part}_rule"] = _rule_schema(part)
    defs["priority_matrix"] = _matrix_schema()
    return {
        **_top(
            "rules",
            "reqfulfill rules",
            "Routing rules (Rules.from_toml): three rule sets over the same facts and the "
            "priority matrix. Every part is optional.",
        ),
        "type": "object",
        "properties": {key: values[key] for key in RULES_KEYS},
        "additionalProperties": False,
        "$defs": defs,
    }


# -- SLA: from the SLA loader's key tables and patterns -----------------------------------


def _sla_schema() -> dict[str, Any]:
    default = SlaPolicy.default()
    # the loader's patterns without their group names: the same in ECMA and Python
    duration = re.sub(r"\?P<\w+>", "", DURATION_PATTERN)
    target = f"^(?:{BUSINESS_DAYS_PATTERN}|(?=[0-9]){duration})$"
    values: dict[str, Any] = {
        "targets": {
            "type": "object",
            "description": "priority number ('1' to '5') -> target: business days ('2bd', "
            f"1 to {MAX_BUSINESS_DAYS}: open days of the calendar) or business time "
            "('4h', '1h30m'; 'd' is 24 hours of business time). A priority left out takes "
            "the nearest less urgent one's target",
            "propertyNames": {"pattern": f"^[1-{len(Priority)}]$"},
            "additionalProperties": {
                "type": "string",
                "title": "a target: '3bd' or '4h'",
                "pattern": target,
            },
            "minProperties": 1,
        },
        "calendar": {
            "description": "the business calendar the targets count on (default: Monday to "
            f"Friday 08:00-16:00, {DEFAULT_TIMEZONE})",
            "$ref": "#/$defs/calendar",
        },
        "pause_in": {
            "type": "array",
            "description": "request states in which the clock stops",
            "items": {"enum": _values(RequestState)},
            "default": [state.value for state in default.pause_in],
        },
        "escalation": {
            "type": "array",
            "description": "what happens when each fraction of the target is used",
            "items": {"$ref": "#/$defs/escalation_level"},
            "default": [level.to_dict() for level in DEFAULT_ESCALATION],
        },
        "hold_notifications": {
            "type": "boolean",
            "description": "notifications outside business hours wait for the next opening",
            "default": default.hold_notifications,
        },
    }
    level_values: dict[str, Any] = {
        "at": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "the fraction of the target: 0.75, 1.0 (the breach), 1.5",
        },
        "action": {
            "enum": list(ESCALATION_ACTIONS),
            "description": "notify (the group), notify_manager (the group above), escalate "
            "(reassign to the group's escalates_to)",
        },
    }
    interval = {
        "type": "string",
        "title": "an interval 'HH:MM-HH:MM'",
        "pattern": f"^{INTERVAL_PATTERN}$",
    }
    calendar_values: dict[str, Any] = {
        "timezone": {
            "type": "string",
            "description": "an IANA time zone name",
            "default": DEFAULT_TIMEZONE,
        },
        "hours": {
            "type": "object",
            "description": "weekday -> local 'HH:MM-HH:MM' intervals; a weekday left out is "
            "closed; '24:00' ends a day",
            "properties": {day: {"type": "array", "items": interval} for day in WEEKDAYS},
            "additionalProperties": False,
            "default": {day: list(spans) for day, spans in DEFAULT_HOURS.items()},
        },
        "holidays": {
            "type": "array",
            "description": "dates (YYYY-MM-DD) on which the whole local day is closed",
            "items": {"type": "string", "format": "date"},
            "default": [],
        },
    }
    return {
        **_top(
            "sla",
            "reqfulfill SLA policy",
            "An SLA policy file (SlaPolicy.from_toml): resolution targets per priority, "
            "the business calendar they count on, pause states and escalation levels.",
        ),
        "type": "object",
        "properties": {key: values[key] for key in POLICY_KEYS},
        "required": ["targets"],
        "additionalProperties": False,
        "$defs": {
            "calendar": {
                "type": "object",
                "description": "business hours in a time zone, with holidays",
                "properties": {key: calendar_values[key] for key in CALENDAR_KEYS},
                "additionalProperties": False,
            },
            "escalation_level": {
                "type": "object",
                "description": "a fraction of the target and what to do when it is used",
                "properties": {key: level_values[key] for key in ESCALATION_LEVEL_KEYS},
                "required": list(ESCALATION_LEVEL_KEYS),
                "additionalProperties": False,
            },
        },
    }
