"""docs/testing.md's contract-kit example is a real test module: saved as one and run by
pytest, both kits pass every check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_contract_kit_example_runs_and_passes(pytester: pytest.Pytester) -> None:
    (source,) = [b for b in BLOCK.findall(PAGE.read_text()) if "SupplierConnectorContract" in b]
    assert "..." not in source  # every field filled in: it is a real example
    pytester.makepyfile(test_kits=source)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, "\n".join(result.outlines[-30:])
    assert outcomes["passed"] >= 20
    skipped = [line for line in result.outlines if line.startswith("SKIPPED")]
    # only the flags the memory store declares
    assert all("supports_multiprocess" in s or "enforces_unique" in s for s in skipped), skipped
