"""``reqfulfill report CATALOG DB``: fulfillment metrics as a table, JSON or a PNG chart.

The report only reads: DB must be an existing store (a SQLite file is checked
read-only first, so a wrong path creates nothing), and ``--png`` must name a file in
an existing folder. Each is checked before any output.
"""

from __future__ import annotations

import argparse
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

from reqfulfill.cli.progress import Progress
from reqfulfill.cli.support import InputError, driver_errors, dumps, existing_store_url, redact
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
    ("stock %", "from_stock_pct"),
    ("supplier %", "from_supplier_pct"),
    ("stock p50 h", "fulfil_p50_stock_h"),
    ("supplier p50 h", "fulfil_p50_supplier_h"),
]


def render_table(rows: list[MetricsRow]) -> str:
    """The rows as an aligned text table."""
    cells = [[h for h, _ in _COLUMNS]]
    for row in rows:
        data = row.to_dict()
        cells.append(["-" if data[k] is None else str(data[k]) for _, k in _COLUMNS])
    widths = [max(len(r[i]) for r in cells) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        if not text.isascii():
            raise ValueError(text)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.single(f"--{name}", text, "expected an ISO date-time") from None
    if value.tzinfo is None:
        raise ValidationError.single(f"--{name}", text, "give a time zone offset, e.g. +00:00")
    return value


def _check_png(path: str | None) -> None:
    """Refuse a ``--png`` path that cannot be written before any work is done."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"--png {path}: is a folder; name a file")
    if not target.parent.is_dir():
        raise InputError(f"--png {path}: no such folder {str(target.parent)!r}")


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
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command."""
    catalog = Catalog.from_dict(load_data_file(args.catalog), source=args.catalog)
    since, until = _when(args.since, "since"), _when(args.until, "until")
    _check_png(args.png)
    url = existing_store_url(args.db)
    rows_by = _metrics(catalog, url, since, until, not args.json)
    rows = rows_by[args.by]
    if args.png:
        _chart(rows_by, args.png)
    if args.json:
        print(dumps([r.to_dict() for r in rows]))
    else:
        print(render_table(rows) if rows else "no requests in that period")
        if args.png:
            print(f"chart written to {args.png}")
    return 0


def _metrics(
    catalog: Catalog, url: str, since: datetime | None, until: datetime | None, show: bool
) -> dict[str, list[MetricsRow]]:
    try:
        service = FulfillmentService(catalog, store=url, load_entrypoints=False)
        try:
            with Progress(None, "report", enabled=show, unit="groupings") as bar:

                def advance(done: int, total: int) -> None:
                    bar.total = total
                    bar.advance()

                return service.metrics_by(
                    ("item", "group", "agent"), since=since, until=until, progress=advance
                )
        finally:
            service.store.close()
    except driver_errors(url) as exc:
        raise InputError(f"{redact(url)}: cannot read the store: {exc}") from None


def add_commands(subparsers: Any) -> None:
    """Register ``report``."""
    report = subparsers.add_parser(
        "report",
        help="fulfillment metrics by item, group or agent (table, JSON, PNG)",
        description=textwrap.fill(
            "Read a store and print fulfillment metrics of its requests: count, "
            "time to assign and to fulfil (business hours, p50/p90), SLA attainment, "
            "escalations and satisfaction, one row per item, group or agent. The store is "
            "only read. Exit status 0, or 2 when a file or the store cannot be used."
        ),
        epilog="examples:\n"
        "  reqfulfill report examples/catalog.toml reqfulfill.db\n"
        "  reqfulfill report catalog.toml postgresql://rf@db/itsm?schema=rf --by group\n"
        "  reqfulfill report catalog.toml store.db --since 2026-01-01T00:00+00:00 --png out.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "catalog",
        metavar="CATALOG",
        help="the catalog file the requests were made with (TOML or JSON)",
    )
    report.add_argument(
        "db",
        metavar="STORE",
        help="the store: a SQLite file path (must exist), sqlite:///PATH or postgresql://URL",
    )
    report.add_argument(
        "--by",
        choices=["item", "group", "agent"],
        default="item",
        help="one row per service item (default), support group or agent",
    )
    report.add_argument("--since", help="ISO date-time with offset (requests created from)")
    report.add_argument("--until", help="ISO date-time with offset (requests created before)")
    report.add_argument("--png", help="also write a chart to this file (needs matplotlib)")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.set_defaults(func=run_report)
