#!/usr/bin/env bash
# Build the docs site strictly (every Sphinx warning is an error) into a temporary
# folder, then check that every public name of `reqfulfill` has an API entry and that
# the python blocks of the pages this script owns run.
# Usage: scripts/check_docs.sh [OUTPUT_DIR]   (default: a temporary folder, removed)
# Needs the `docs` extra: pip install -e '.[docs]'.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

if [ $# -ge 1 ]; then
  out="$1"
  mkdir -p "$out"
else
  out="$(mktemp -d -t reqfulfill-docs.XXXXXX)"
  trap 'rm -rf "$out"' EXIT
fi

start=$SECONDS
"$PY" -m sphinx -W --keep-going -q -b html -d "$out/.doctrees" docs "$out/html"

"$PY" - "$out/html/objects.inv" <<'PY'
"""Every name in reqfulfill.__all__ is documented (under the module that defines it)."""
import sys

import reqfulfill
from sphinx.util.inventory import InventoryFile

with open(sys.argv[1], "rb") as stream:
    inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
data = getattr(inventory, "data", inventory)  # Sphinx 9 returns an object with .data
documented = {name for kind, entries in data.items() if kind.startswith("py:") for name in entries}
missing = []
for name in reqfulfill.__all__:
    obj = getattr(reqfulfill, name)
    if name == "__version__":
        continue
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
    candidates = {f"reqfulfill.{name}", f"{module}.{name}", getattr(obj, "__name__", "")}
    # re-exported from a public module: reqfulfill.rules.Rules, reqfulfill.stores.Store
    candidates |= {entry for entry in documented if entry.endswith(f".{name}")}
    if not candidates & documented:
        missing.append(name)
if missing:
    sys.exit(f"public names with no API entry: {', '.join(sorted(missing))}")
print(f"API reference: {len(reqfulfill.__all__) - 1} public names documented")
PY

"$PY" - <<'PY'
"""The python blocks of the docs pages that no other test runs."""
import re
from pathlib import Path

BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
for page in ["diagrams.md", "howto-workers.md"]:
    path = Path("docs") / page
    namespace = {"__name__": f"docs.{path.stem}"}
    for index, block in enumerate(BLOCK.findall(path.read_text(encoding="utf-8"))):
        exec(compile(block, f"{page} (python block {index + 1})", "exec"), namespace)
    print(f"{page}: examples run")
PY

echo "docs: built strictly into $out/html in $((SECONDS - start))s"
