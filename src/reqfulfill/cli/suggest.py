"""The suggestion commands of the CLI: ``suggest`` and ``suggest-eval``.

``reqfulfill suggest CATALOG TEXT`` prints the catalog items suggested for TEXT with
their confidence and the words that led to them; ``reqfulfill suggest-eval CATALOG
LABELLED.jsonl`` prints precision at 1 and at 3 and, per confidence threshold, the
share of messages auto-triaged and the share auto-triaged to a wrong item, so an
organisation can pick its ``[intake] auto_triage`` threshold from its own mail.
Exit status: 0 success (``suggest`` with no suggestion too), 2 unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from reqfulfill.cli.support import dumps
from reqfulfill.intake import Suggester, evaluate, read_labelled
from reqfulfill.model.catalog import Catalog

__all__ = ["add_commands", "run_suggest", "run_suggest_eval"]

EXIT_OK = 0


def add_commands(subparsers: Any) -> None:
    """Register ``suggest`` and ``suggest-eval`` on ``subparsers``."""
    suggest = subparsers.add_parser(
        "suggest",
        help="suggest catalog items for a text",
        description="Print the catalog items suggested for TEXT, best first, with their "
        "confidence (0 to 1) and the words of the text that led to them.",
    )
    suggest.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    suggest.add_argument("text", metavar="TEXT", help="the request's text")
    suggest.add_argument("-k", type=int, default=3, help="how many suggestions (default 3)")
    suggest.add_argument("--json", action="store_true", help="print JSON")
    suggest.set_defaults(func=run_suggest)
    evaluation = subparsers.add_parser(
        "suggest-eval",
        help="measure the suggestions on labelled messages",
        description='Suggest for each line of LABELLED ({"text": ..., "item": ...}; '
        "item null for a message no item fits) and print precision at 1 and at 3, and "
        "per threshold the share auto-triaged and the share auto-triaged wrongly.",
    )
    evaluation.add_argument("catalog", metavar="CATALOG", help="catalog file (.toml or .json)")
    evaluation.add_argument("labelled", metavar="LABELLED", help="labelled messages (.jsonl)")
    evaluation.add_argument("--json", action="store_true", help="print JSON")
    evaluation.set_defaults(func=run_suggest_eval)


def run_suggest(args: argparse.Namespace) -> int:
    """Print the suggestions for ``args.text``."""
    suggester = Suggester(Catalog.from_toml(args.catalog))
    found = suggester.suggest(args.text, k=args.k)
    if args.json:
        rows = [
            {"item": s.item, "confidence": s.confidence, "score": s.score, "terms": list(s.terms)}
            for s in found
        ]
        sys.stdout.write(dumps(rows) + "\n")
        return EXIT_OK
    if not found:
        sys.stdout.write("no suggestion: the text matches no catalog item well\n")
    for s in found:
        sys.stdout.write(f"{s.confidence:5.2f}  {s.item}  ({', '.join(s.terms)})\n")
    return EXIT_OK


def run_suggest_eval(args: argparse.Namespace) -> int:
    """Print the evaluation of the suggester on ``args.labelled``."""
    suggester = Suggester(Catalog.from_toml(args.catalog))
    result = evaluate(suggester, read_labelled(args.labelled))
    if args.json:
        sys.stdout.write(dumps(result.to_dict()) + "\n")
        return EXIT_OK
    out = [
        f"messages: {result.messages} ({result.labelled} about a catalog item)",
        f"precision at 1: {result.precision_at_1:.3f}",
        f"precision at 3: {result.precision_at_3:.3f}",
        "threshold  auto-triaged  wrongly",
    ]
    out += [
        f"{row.threshold:9.2f}  {row.auto:12.1%}  {row.wrong:7.1%}" for row in result.thresholds
    ]
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_OK
