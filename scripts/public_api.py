"""The public API listing: print it, or rewrite ``tests/data/public_api.json`` on purpose.

``tests/unit/test_public_api.py`` compares the ``__all__`` of each module the
listing names with the listing, so a public name cannot appear, vanish or
move by accident. When a change to the public API is deliberate, regenerate
the listing and commit it with the change (the diff is the API change)::

    PYTHONPATH=src python scripts/public_api.py          # print the current API
    PYTHONPATH=src python scripts/public_api.py --write  # rewrite the listing
    PYTHONPATH=src python scripts/public_api.py --write reqfulfill.worker  # add a module
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

LISTING = Path(__file__).resolve().parents[1] / "tests" / "data" / "public_api.json"


def public_api(modules: list[str]) -> dict[str, list[str]]:
    """Module name -> its sorted ``__all__``, for each of ``modules``."""
    out: dict[str, list[str]] = {}
    for name in modules:
        # module names from the command line or the listing, never from request data
        module = importlib.import_module(name)  # noqa: TID251
        out[name] = sorted(module.__all__)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/public_api.py", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite {LISTING.name}")
    parser.add_argument("modules", nargs="*", help="modules to add to the listing")
    args = parser.parse_args(argv)
    listed = list(json.loads(LISTING.read_text(encoding="utf-8"))) if LISTING.exists() else []
    modules = sorted({*listed, *args.modules} or {"reqfulfill"})
    text = json.dumps(public_api(modules), indent=2) + "\n"
    if args.write:
        LISTING.write_text(text, encoding="utf-8")
        print(f"{LISTING}: {len(modules)} modules written")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
