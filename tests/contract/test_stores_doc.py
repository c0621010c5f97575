"""docs/stores.md is executed: its ``python`` blocks run, and it names every flag and
every method of the Store protocol."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reqfulfill.testing.contracts import StoreContract
from reqfulfill.testing.store_contract import protocol_methods

PAGE = Path(__file__).resolve().parents[2] / "docs" / "stores.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_python_blocks_run() -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    namespace: dict[str, Any] = {"__name__": "docs.stores"}
    for index, block in enumerate(blocks):
        exec(compile(block, f"stores.md (python block {index + 1})", "exec"), namespace)
    assert issubclass(namespace["TestSQLiteStore"], StoreContract)
    assert namespace["TestMemoryStore"].supports_multiprocess is False


def test_every_capability_flag_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    flags = [
        name
        for name, value in vars(StoreContract).items()
        if not name.startswith("_") and isinstance(value, bool | int)
    ]
    assert "supports_multiprocess" in flags
    for flag in flags:
        assert f"`{flag}`" in text, f"{flag} is not documented in docs/stores.md"


def test_every_protocol_method_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    methods = protocol_methods()
    assert {"load_after", "append_and_complete"} <= set(methods)
    for method in methods:
        assert f"`{method}(" in text, f"Store.{method} is not documented in docs/stores.md"
