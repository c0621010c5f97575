"""``reqfulfill report CATALOG DB``: fulfillment metrics as a table, JSON or a PNG chart."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from reqfulfill.metrics import MetricsRow
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import ValidationError
from reqfulfill.serialization import load_data_file
from reqfulfill.service import FulfillmentService

__all__ = ["add_commands", "render_table"]

_COLUMNS = [
    ("key", "key"),
    ("count", "count"),
    ("fulfilled", "fulfilled"),
    ("assign p50 h", "assign_p50_h"),
    ("fulfil p50 h", "fulfil_p50_h"),
    ("fulfil p90 h", "fulfil_p90_h"),
    ("SLA met %", "sla_met_pct"),
    ("escalations", "escalations"),
    ("CSAT", "csat"),
    ("response", "response_rate"),
]


def render_table(rows: list[MetricsRow]) -> str:
    """The rows as an aligned text table."""
    cells = [[h for h, _ in _COLUMNS]]
    for row in rows:
        data = row.to_dict()
        cells.append(["-" if data[k] is None else str(data[k]) for _, k in _COLUMNS])
    widths = [max(len(r[i]) for r in cells) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def _store_url(db: str) -> str:
    return db if "://" in db else "sqlite:///" + db


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single(f"--{name}", text, "expected an ISO date-time") from None
    if value.tzinfo is None:
        raise ValidationError.single(f"--{name}", text, "give a time zone offset, e.g. +00:00")
    return value


def _chart(rows_by: dict[str, list[MetricsRow]], path: str) -> None:
    try:
        # matplotlib comes with the report extra: imported only when a chart is asked for
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValidationError.single(
            "--png", path, "charts need matplotlib: pip install 'reqfulfill[report]'"
        ) from None
    items = rows_by["item"]
    groups = rows_by["group"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.barh([r.key for r in items], [r.fulfil_p50_h or 0 for r in items], label="p50")
    left.barh(
        [r.key for r in items],
        [max(0.0, (r.fulfil_p90_h or 0) - (r.fulfil_p50_h or 0)) for r in items],
        left=[r.fulfil_p50_h or 0 for r in items],
        alpha=0.4,
        label="p90",
    )
    left.set_xlabel("hours to fulfil (business time)")
    left.set_title("Fulfilment time per item")
    left.legend()
    right.bar([r.key for r in groups], [r.sla_met_pct or 0 for r in groups])
    right.set_ylim(0, 100)
    right.set_ylabel("% within SLA")
    right.set_title("SLA attainment per group")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command."""
    catalog = Catalog.from_dict(load_data_file(args.catalog), source=args.catalog)
    service = FulfillmentService(catalog, store=_store_url(args.db), load_entrypoints=False)
    try:
        since, until = _when(args.since, "since"), _when(args.until, "until")
        rows_by = {
            by: service.metrics(since=since, until=until, by=by)
            for by in {args.by, "item", "group"}
        }
    finally:
        service.store.close()
    rows = rows_by[args.by]
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        print(render_table(rows) if rows else "no requests in that period")
    if args.png:
        _chart(rows_by, args.png)
        if not args.json:
            print(f"chart written to {args.png}")
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``report``."""
    report = subparsers.add_parser(
        "report", help="fulfillment metrics by item, group or agent (table, JSON, PNG)"
    )
    report.add_argument("catalog", help="catalog file (TOML or JSON)")
    report.add_argument("db", help="store: a SQLite file or a store URL")
    report.add_argument("--by", choices=["item", "group", "agent"], default="item")
    report.add_argument("--since", help="ISO date-time with offset (requests created from)")
    report.add_argument("--until", help="ISO date-time with offset (requests created before)")
    report.add_argument("--png", help="write a chart (needs matplotlib)")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.set_defaults(func=run_report)
