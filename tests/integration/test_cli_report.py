from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reqfulfill.cli import main
from reqfulfill.demo import play_reference_scenario

CATALOG = str(Path(__file__).parents[2] / "examples" / "catalog.toml")


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "rf.db"
    service, _ = play_reference_scenario(f"sqlite:///{path}")
    service.store.close()
    return str(path)


def test_report_table(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", CATALOG, db]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("key")
    assert "iphone-15" in out


def test_report_json_by_group_and_chart(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "chart.png"
    assert main(["report", CATALOG, db, "--by", "group", "--json", "--png", str(png)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["key"] for r in rows] == ["service-desk"]
    assert rows[0]["csat"] == 5.0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_bad_since(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", CATALOG, db, "--since", "yesterday"]) == 2
    assert "--since" in capsys.readouterr().err


def test_report_says_where_the_items_came_from(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    # the reference scenario's phone: nothing in stock, ordered and delivered (issue 18)
    assert main(["report", CATALOG, db, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["key"] == "iphone-15"
    assert (row["from_stock_pct"], row["from_supplier_pct"]) == (0.0, 100.0)
    assert row["fulfil_p50_stock_h"] is None
    assert row["fulfil_p50_supplier_h"] == row["fulfil_p50_h"]
    assert main(["report", CATALOG, db]) == 0
    header, line = (re.split(r"\s{2,}", r.strip()) for r in capsys.readouterr().out.splitlines())
    cells = dict(zip(header, line, strict=True))
    assert (cells["stock %"], cells["supplier %"], cells["stock p50 h"]) == ("0.0", "100.0", "-")
