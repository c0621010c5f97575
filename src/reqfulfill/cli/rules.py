"""The rule commands of the CLI: ``check``, ``explain`` and ``simulate``.

``add_commands(subparsers)`` registers them on the main parser's
subparsers; each sets ``func`` to a handler ``run_*(args) -> int``.
Exit status: 0 success, 1 findings or changes that need attention, 2 bad
usage or unreadable input (one line on stderr naming the file and line).
REQUEST.json and REQUESTS.jsonl are read as strictly as configuration files
(:func:`~reqfulfill.serialization.strict_json.parse_json`) and held to the same
nesting limit as ``submit``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import attrs

from reqfulfill.cli.progress import Progress, shows_progress
from reqfulfill.cli.support import InputError, dumps, fail
from reqfulfill.model.catalog import Catalog, Requester, ServiceItem
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import Problem, ValidationError, nesting_problem, short_repr
from reqfulfill.rules import PARTS, Routing, Rules, build_facts
from reqfulfill.rules.analysis import Finding, lint_rules, loadable_rules
from reqfulfill.serialization import load_data_file, structure_config
from reqfulfill.serialization.catalog import catalog_problems
from reqfulfill.serialization.strict_json import parse_json
from reqfulfill.sla import SlaPolicy

__all__ = ["add_commands", "run_check", "run_explain", "run_simulate"]

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_USAGE = 2

_COMPARED = ("group", "strategy", "category", "impact", "urgency", "priority")


def add_commands(subparsers: Any) -> None:
    """Register ``check``, ``explain`` and ``simulate`` on ``subparsers``.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned; the
    caller then runs ``args.func(args)`` and exits with its result.
    """
    check = subparsers.add_parser(
        "check",
        help="validate and lint a catalog and its rules (and an SLA policy)",
        description="Validate CATALOG and RULES (and with --sla an SLA policy) and lint the "
        "rules against the catalog. Every problem of every file is reported in one run, "
        "and rules with errors are linted as far as they load. Exit 1 when there is an "
        "error to fix. The formats: 'reqfulfill schema catalog|rules|sla', docs/formats.md.",
    )
    check.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    check.add_argument("rules", metavar="RULES", help="rules file (.toml or .json)")
    check.add_argument("--sla", metavar="SLA", help="also check an SLA policy file")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=run_check)

    explain = subparsers.add_parser(
        "explain",
        help="show which rules route a request, and why the others did not",
        description="Route REQUEST.json with RULES and show, for assignment, categorization "
        "and prioritization, every rule tried and the first failed test of each.",
    )
    explain.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    explain.add_argument("rules", metavar="RULES", help="rules file (.toml or .json)")
    explain.add_argument("request", metavar="REQUEST.json", help="the request, as for submit")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(func=run_explain)

    simulate = subparsers.add_parser(
        "simulate",
        help="what a rule change would do to past requests",
        description="Route every request of REQUESTS.jsonl with RULES_OLD and RULES_NEW and "
        "report the requests whose group, strategy, category, impact, urgency or priority "
        "would change.",
    )
    simulate.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    simulate.add_argument("old", metavar="RULES_OLD", help="the rules in force")
    simulate.add_argument("new", metavar="RULES_NEW", help="the proposed rules")
    simulate.add_argument("requests", metavar="REQUESTS.jsonl", help="one request per line")
    simulate.add_argument(
        "--limit", type=_positive, metavar="N", help="simulate only the first N requests"
    )
    simulate.add_argument(
        "--fail-on-change", action="store_true", help="exit 1 when any request would change"
    )
    simulate.add_argument("--json", action="store_true", help="machine-readable output")
    simulate.set_defaults(func=run_simulate)


def _positive(text: str) -> int:
    try:
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {short_repr(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# -- loading ------------------------------------------------------------------------------


def _read(path: str) -> dict[str, Any]:
    try:
        return load_data_file(path)
    except ValidationError as exc:
        raise InputError(str(exc)) from None


def _catalog(path: str) -> Catalog:
    try:
        return Catalog.from_dict(_read(path), source=path)
    except ValidationError as exc:
        raise InputError(str(exc)) from None


def _rules(path: str) -> Rules:
    try:
        return Rules.from_dict(_read(path), source=path)
    except ValidationError as exc:
        raise InputError(str(exc)) from None


@attrs.frozen
class _Request:
    id: str | None
    requester: Requester
    item: ServiceItem | None
    channel: Channel
    answers: Mapping[str, Any]

    def facts(self) -> dict[str, object]:
        return build_facts(
            item=self.item, requester=self.requester, channel=self.channel, answers=self.answers
        )


def _parse_request(data: object, catalog: Catalog, where: str) -> _Request:
    """A request from its REQUEST.json form; ``where`` is ``file`` or ``file:line``."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: a request is a JSON object, got {type(data).__name__}")
    deep = nesting_problem(data)
    if deep is not None:  # the limit submit applies
        raise InputError(str(ValidationError([deep], source=where)))
    for key in data:
        if key not in ("id", "requester", "item", "channel", "answers"):
            problems.append(Problem(str(key), data[key], "unknown key"))
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str | int):
        problems.append(Problem("id", request_id, "an id is a string or a number"))
    requester: Requester | None = None
    if "requester" not in data:
        problems.append(Problem("requester", None, "missing required key"))
    else:
        try:
            requester = structure_config(data["requester"], Requester, path="requester")
        except ValidationError as exc:
            problems.extend(exc.problems)
    item: ServiceItem | None = None
    item_id = data.get("item")
    if item_id is not None:
        if not isinstance(item_id, str):
            problems.append(Problem("item", item_id, "an item is named by its id (a string)"))
        elif not catalog.has_item(item_id):
            problems.append(Problem("item", item_id, f"unknown item {item_id!r}"))
        else:
            item = catalog.item(item_id)
    channel: Channel | None = None
    raw_channel = data.get("channel", "portal")
    try:
        channel = Channel(raw_channel)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        problems.append(
            Problem("channel", raw_channel, f"unknown channel; expected one of {allowed}")
        )
    answers = data.get("answers", {})
    if not isinstance(answers, Mapping):
        problems.append(Problem("answers", answers, "answers are a JSON object"))
    if problems or requester is None or channel is None:
        raise InputError(str(ValidationError(problems, source=where)))
    return _Request(
        None if request_id is None else str(request_id), requester, item, channel, answers
    )


def _request(path: str, catalog: Catalog) -> _Request:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text: {exc}") from None
    try:
        data = parse_json(text, source=path)
    except ValidationError as exc:
        raise InputError(str(exc)) from None
    return _parse_request(data, catalog, path)


def _requests(path: str, catalog: Catalog, limit: int | None) -> Iterator[tuple[int, _Request]]:
    try:
        with Path(path).open(encoding="utf-8") as handle:
            yield from _parse_lines(handle, path, catalog, limit)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text: {exc}") from None


def _count_requests(path: str, limit: int | None) -> int | None:
    """How many requests ``path`` holds (non-blank lines, at most ``limit``), for the
    progress line; None when it cannot be read (the run reports that itself)."""
    try:
        with Path(path).open("rb") as handle:
            count = sum(1 for line in handle if line.strip())
    except OSError:
        return None
    return count if limit is None else min(count, limit)


def _parse_lines(
    handle: TextIO, path: str, catalog: Catalog, limit: int | None
) -> Iterator[tuple[int, _Request]]:
    count = 0
    for lineno, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        if limit is not None and count >= limit:
            return
        try:
            data = parse_json(line, source=path, first_line=lineno)
        except ValidationError as exc:
            raise InputError(str(exc)) from None
        count += 1
        yield lineno, _parse_request(data, catalog, f"{path}:{lineno}")


def _fail(message: str) -> int:
    return fail(message, "reqfulfill: error")


def _dump(data: object, out: TextIO) -> None:
    out.write(dumps(data) + "\n")


# -- check --------------------------------------------------------------------------------


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity,
        "ruleset": finding.ruleset,
        "rule": finding.rule,
        "message": finding.message,
    }


def _problem_dict(problem: Problem, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "path": problem.path,
        "value": problem.value,
        "reason": problem.reason,
    }


def _sla_problems(data: dict[str, Any], path: str) -> list[dict[str, Any]]:
    try:
        SlaPolicy.from_dict(data, source=path)
    except ValidationError as exc:
        return [_problem_dict(p, path) for p in exc.problems]
    return []


def run_check(args: argparse.Namespace) -> int:
    """``check CATALOG RULES``: validate both, lint the rules; 1 when there is an error."""
    out: TextIO = sys.stdout
    problems: list[dict[str, Any]] = []
    try:
        catalog_data = _read(args.catalog)
        rules_data = _read(args.rules)
        sla_data = _read(args.sla) if args.sla is not None else None
    except InputError as exc:
        return _fail(str(exc))
    # every problem of each file in one pass: a file with errors is still checked as
    # far as it loads (the catalog with its bad values left out, the rules that load)
    salvaged, catalog_found = catalog_problems(catalog_data)
    problems.extend(_problem_dict(p, args.catalog) for p in catalog_found)
    catalog = None if catalog_found else salvaged
    rules: Rules | None = None
    try:
        rules = Rules.from_dict(rules_data, source=args.rules)
    except ValidationError as exc:
        problems.extend(_problem_dict(p, args.rules) for p in exc.problems)
    if sla_data is not None:
        problems.extend(_sla_problems(sla_data, args.sla))
    linted = rules if rules is not None else loadable_rules(rules_data)
    findings = lint_rules(linted, salvaged)
    errors = len(problems) + sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity != "error")
    if args.json:
        _dump(
            {
                "ok": errors == 0,
                "problems": problems,
                "findings": [_finding_dict(f) for f in findings],
            },
            out,
        )
    else:
        for problem in problems:
            where = f"{problem['source']}: {problem['path'] or '<root>'}"
            print(
                f"error [invalid] {where}: {problem['reason']} (got {problem['value']!r})", file=out
            )
        for finding in findings:
            print(finding, file=out)
        if catalog is not None:
            print(
                f"{args.catalog}: {len(catalog.items)} items, {len(catalog.groups)} groups, "
                f"{len(catalog.plans)} plans",
                file=out,
            )
        if rules is not None:
            counts = ", ".join(f"{part} {len(getattr(rules, part).rules)}" for part in PARTS)
            print(f"{args.rules}: {counts} rules", file=out)
        verdict = "ok" if errors == 0 else "needs attention"
        print(f"{errors} error(s), {warnings} warning(s): {verdict}", file=out)
    return EXIT_OK if errors == 0 else EXIT_ATTENTION


# -- explain ------------------------------------------------------------------------------


def _routing_dict(routing: Routing) -> dict[str, Any]:
    data = {name: getattr(routing, name) for name in Routing.__match_args__}
    for key in ("impact", "urgency"):
        data[key] = data[key].value if data[key] is not None else None
    data["priority"] = int(routing.priority) if routing.priority is not None else None
    return data


def _outcome(part: str, routing: Routing) -> tuple[str, str | None, str]:
    if part == "assignment":
        value = f"group {routing.group!r} (strategy {routing.strategy})"
        return value, routing.assignment_rule, routing.assignment_reason
    if part == "categorization":
        return f"category {routing.category!r}", routing.category_rule, routing.category_reason
    impact = routing.impact.value if routing.impact else None
    urgency = routing.urgency.value if routing.urgency else None
    priority = int(routing.priority) if routing.priority is not None else None
    value = f"impact {impact}, urgency {urgency} -> priority {priority}"
    return value, routing.priority_rule, routing.priority_reason


def run_explain(args: argparse.Namespace) -> int:
    """``explain CATALOG RULES REQUEST.json``: which rule decided each part, and why."""
    out: TextIO = sys.stdout
    try:
        catalog = _catalog(args.catalog)
        rules = _rules(args.rules)
        request = _request(args.request, catalog)
    except InputError as exc:
        return _fail(str(exc))
    facts = request.facts()
    routing = rules.route(facts, item=request.item)
    traces = {part: getattr(rules, part).explain(facts) for part in PARTS}
    if args.json:
        _dump(
            {
                "routing": _routing_dict(routing),
                "facts": facts,
                "trace": {
                    part: [
                        {
                            "index": step.index,
                            "rule": step.rule,
                            "matched": step.matched,
                            "failure": None if step.failure is None else str(step.failure),
                        }
                        for step in explanation.trace
                    ]
                    for part, explanation in traces.items()
                },
            },
            out,
        )
        return EXIT_OK
    item = request.item.id if request.item else "(none)"
    print(
        f"request: item {item}, channel {request.channel.value}, requester {request.requester.id}",
        file=out,
    )
    for part in PARTS:
        value, rule, reason = _outcome(part, routing)
        by = f"rule {rule!r}" if rule not in (None, "item default") else (rule or "nothing")
        print(f"{part}: {value} by {by}: {reason}", file=out)
        for step in traces[part].trace:
            print(f"  {step}", file=out)
    return EXIT_OK


# -- simulate -----------------------------------------------------------------------------


def _compared(routing: Routing) -> dict[str, Any]:
    data = _routing_dict(routing)
    return {key: data[key] for key in _COMPARED}


def _rule_of(routing: Routing, key: str) -> str | None:
    if key in ("group", "strategy"):
        return routing.assignment_rule
    if key == "category":
        return routing.category_rule
    return routing.priority_rule


def run_simulate(args: argparse.Namespace) -> int:
    """``simulate CATALOG RULES_OLD RULES_NEW REQUESTS.jsonl``: what would change."""
    out: TextIO = sys.stdout
    try:
        catalog = _catalog(args.catalog)
        old = _rules(args.old)
        new = _rules(args.new)
        changes: list[dict[str, Any]] = []
        by_field: dict[str, int] = {}
        total = 0
        shown = shows_progress(enabled=not args.json)
        expected = _count_requests(args.requests, args.limit) if shown else None
        with Progress(expected, "simulate", enabled=shown, unit="requests") as bar:
            for lineno, request in _requests(args.requests, catalog, args.limit):
                total += 1
                bar.advance()
                facts = request.facts()
                before = old.route(facts, item=request.item)
                after = new.route(facts, item=request.item)
                a, b = _compared(before), _compared(after)
                fields = {
                    key: {
                        "old": a[key],
                        "new": b[key],
                        "old_rule": _rule_of(before, key),
                        "new_rule": _rule_of(after, key),
                    }
                    for key in _COMPARED
                    if a[key] != b[key]
                }
                if fields:
                    for key in fields:
                        by_field[key] = by_field.get(key, 0) + 1
                    changes.append({"id": request.id, "line": lineno, "changes": fields})
    except InputError as exc:
        return _fail(str(exc))
    if args.json:
        _dump(
            {"requests": total, "changed": len(changes), "by_field": by_field, "changes": changes},
            out,
        )
    else:
        for change in changes:
            name = change["id"] if change["id"] is not None else f"line {change['line']}"
            parts = [
                f"{key} {c['old']!r} -> {c['new']!r} (rule {c['old_rule']!r} -> {c['new_rule']!r})"
                for key, c in change["changes"].items()
            ]
            print(f"{name}: " + "; ".join(parts), file=out)
        summary = ", ".join(f"{key} {count}" for key, count in sorted(by_field.items()))
        print(
            f"{total} request(s) simulated, {len(changes)} would change"
            + (f" ({summary})" if summary else ""),
            file=out,
        )
    if changes and args.fail_on_change:
        return EXIT_ATTENTION
    return EXIT_OK
