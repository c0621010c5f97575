#!/usr/bin/env bash
# Build the sdist and the wheel, check them with twine, install the wheel into a fresh
# virtual environment (no editable install, no extras) and run the demo from it.
# Usage: scripts/check_package.sh   (needs `build` and `twine`: pip install -e '.[docs]')
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"

work="$(mktemp -d -t reqfulfill-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# The source tree may be dirty with other people's work: build from what is committed.
git archive --format=tar HEAD | tar -x -C "$work" --one-top-level=src-tree
"$PY" -m build --sdist --wheel --outdir "$work/dist" "$work/src-tree" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
"$PY" -m twine check --strict "$work"/dist/*

wheel=("$work"/dist/reqfulfill-*.whl)
sdist=("$work"/dist/reqfulfill-*.tar.gz)
[ -f "${wheel[0]}" ] && [ -f "${sdist[0]}" ] || { echo "missing wheel or sdist"; exit 1; }

# A clean environment: the wheel and its runtime dependencies only.
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel[0]}" \
  2>&1 | grep -v '^WARNING: Location' || true
cd "$work"  # so that nothing imports from the work tree
"$work/venv/bin/python" -c "import reqfulfill, sys; print('reqfulfill', reqfulfill.__version__); sys.exit(reqfulfill.__version__ in ('', '0+unknown'))"
"$work/venv/bin/python" - <<'PY'
import reqfulfill, pathlib
assert "site-packages" in reqfulfill.__file__, reqfulfill.__file__
assert (pathlib.Path(reqfulfill.__file__).parent / "py.typed").exists()
PY
"$work/venv/bin/reqfulfill" demo >"$work/demo.out"
grep -q "Final state: closed" "$work/demo.out" || { cat "$work/demo.out"; exit 1; }
tail -n 1 "$work/demo.out"
"$work/venv/bin/reqfulfill" demo --json >/dev/null
echo "package: $(basename "${sdist[0]}") and $(basename "${wheel[0]}") build, pass twine check, install and run the demo ($((SECONDS - start))s)"
