"""The built distributions carry what a user needs: code, py.typed, LICENSE, metadata.

The quick part of the packaging check: build the sdist and the wheel once and look
inside. ``scripts/check_package.sh`` does the slow part (twine, a clean virtual
environment, ``reqfulfill demo`` from the installed wheel).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

import reqfulfill

pytest.importorskip("build", reason="needs the 'build' package (dev extra)")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> zipfile.ZipFile:
    (path,) = dist.glob("reqfulfill-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def sdist_names(dist: Path) -> list[str]:
    (path,) = dist.glob("reqfulfill-*.tar.gz")
    with tarfile.open(path) as archive:
        return [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]


def dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if n.endswith(f".dist-info/{name}")]
    return wheel.read(path).decode("utf-8")


def metadata(wheel: zipfile.ZipFile) -> Message:
    return Parser().parsestr(dist_info(wheel, "METADATA"))


def test_wheel_is_pure_python(dist: Path) -> None:
    (path,) = dist.glob("reqfulfill-*.whl")
    assert path.name.endswith("-py3-none-any.whl")


def test_wheel_is_typed(wheel: zipfile.ZipFile) -> None:
    assert "reqfulfill/py.typed" in wheel.namelist()


def test_wheel_carries_the_license(wheel: zipfile.ZipFile) -> None:
    text = dist_info(wheel, "licenses/LICENSE")
    assert "Apache License" in text
    assert metadata(wheel)["License-Expression"] == "Apache-2.0"


def test_wheel_has_every_module_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = {
        p.relative_to(ROOT / "src").as_posix()
        for p in (ROOT / "src" / "reqfulfill").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sources <= names
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"reqfulfill", f"reqfulfill-{reqfulfill.__version__}.dist-info"}
    assert not [n for n in names if n.endswith((".pyc", ".db"))]


def test_wheel_ships_the_json_schemas(wheel: zipfile.ZipFile) -> None:
    """``reqfulfill schema`` prints them from the installed package."""
    for form in ("catalog", "rules", "sla"):
        text = wheel.read(f"reqfulfill/schemas/{form}.json").decode("utf-8")
        assert json.loads(text)["$schema"].startswith("https://json-schema.org/")


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    text = dist_info(wheel, "entry_points.txt")
    assert "[console_scripts]\nreqfulfill = reqfulfill.cli:main" in text
    assert "[hypothesis]\n" in text


def test_metadata_matches_the_project(wheel: zipfile.ZipFile) -> None:
    meta = metadata(wheel)
    project = PYPROJECT["project"]
    assert meta["Name"] == "reqfulfill"
    assert meta["Version"] == reqfulfill.__version__ == project["version"]
    assert meta["Requires-Python"] == project["requires-python"]
    assert meta["Summary"] == project["description"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "## Quick start" in (meta.get_payload() or "")
    classifiers = meta.get_all("Classifier") or []
    assert classifiers == project["classifiers"]
    assert "Typing :: Typed" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in classifiers)
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Documentation", "Source", "Changelog"} <= set(urls)


def test_runtime_dependencies_stay_small(wheel: zipfile.ZipFile) -> None:
    requires = [r for r in metadata(wheel).get_all("Requires-Dist") or [] if "extra ==" not in r]
    names = sorted(r.split(">")[0].split("=")[0].split("[")[0].strip() for r in requires)
    assert names == ["attrs", "cattrs", "google-re2", "pluggy", "typing-extensions"]


def test_sdist_has_the_sources_docs_and_tests(sdist_names: list[str]) -> None:
    for name in ["pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "docs/conf.py"]:
        assert name in sdist_names, name
    assert "src/reqfulfill/py.typed" in sdist_names
    assert any(n.startswith("tests/") for n in sdist_names)
    assert not [n for n in sdist_names if n.startswith((".venv/", "docs/_generated/"))]
