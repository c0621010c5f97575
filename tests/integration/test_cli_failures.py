"""Every command refuses bad input the same way: exit status 2, one line on stderr.

Each command is run through ``main`` with input it cannot use -- missing files,
folders instead of files, garbage, JSON that is not strict JSON, malformed and
unreachable store URLs, unwritable chart paths, bad usage -- and must answer with
exit status 2 and exactly one line on stderr, no traceback, nothing on stdout and no
file created (the inputs' folder and the working folder are compared before and
after).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reqfulfill.cli import main
from reqfulfill.demo import play_reference_scenario

DATA = Path(__file__).parents[1] / "data" / "rules"
CATALOG = str(DATA / "catalog.toml")
RULES = str(DATA / "rules.toml")
REQUEST = str(DATA / "request.json")
REQUESTS = str(DATA / "requests.jsonl")
INTAKE = Path(__file__).parents[2] / "examples" / "intake"
INTAKE_CATALOG = str(INTAKE / "catalog.toml")
LABELLED = str(INTAKE / "labelled.jsonl")

DEEP = 40  # deeper than the nesting limit (32), shallow enough to parse
BAD_FILES: dict[str, bytes] = {
    "missing.toml": b"",  # not written: see make_inputs
    "folder.toml": b"",  # a folder
    "garbage.toml": b"\x00\xff\xfe garbage \x80",
    "garbage.json": b"\x00\xff\xfe garbage \x80",
    "empty.json": b"",
    "syntax.json": b'{"groups": [],}',
    "duplicate.json": b'{"groups": [], "plans": [],\n "groups": []}',
    "nan.json": b'{"groups": NaN}',
    "infinite.json": b'{"groups": [1e400]}',
    "bigint.json": b'{"groups": [' + b"7" * 5000 + b"]}",
    "stack.json": b"[" * 200_000 + b"]" * 200_000,
    "nested.json": b'{"groups": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "nan.toml": b"groups = []\nlimit = nan\n",
    "bigint.toml": b"limit = " + b"7" * 5000 + b"\n",
    "list.json": b"[1, 2]",
}
BAD_REQUESTS: dict[str, bytes] = {
    "duplicate_request.json": b'{"item": "iphone-15", "item": "x", "requester": {}}',
    "nan_request.json": b'{"answers": {"cost": NaN}}',
    "deep_request.json": b'{"answers": {"a": ' + b"[" * DEEP + b"]" * DEEP + b"}}",
    "array_request.json": b"[]",
    "bad_lines.jsonl": Path(REQUESTS).read_bytes().splitlines(keepends=True)[0]
    + b'{"a": 1, "a": 2}\n',
    "nan_lines.jsonl": b'{"answers": {"x": Infinity}}\n',
    "deep_lines.jsonl": b'{"answers": ' + b"[" * DEEP + b"]" * DEEP + b"}\n",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("store") / "rf.db"
    service, _ = play_reference_scenario(f"sqlite:///{path}")
    service.store.close()
    return str(path)


def make_inputs(folder: Path) -> Path:
    folder.mkdir()
    for name, content in {**BAD_FILES, **BAD_REQUESTS}.items():
        if name == "folder.toml":
            (folder / name).mkdir()
        elif name != "missing.toml":
            (folder / name).write_bytes(content)
    other = sqlite3.connect(folder / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    return folder


def snapshot(*folders: Path) -> set[Path]:
    return {path for folder in folders for path in folder.rglob("*")}


Case = Callable[[Path, str], list[str]]

CONFIG_NAMES = [n for n in BAD_FILES]
CASES: dict[str, Case] = {}
for _name in CONFIG_NAMES:
    if _name != "nested.json":  # check reports what reads but does not load: exit 1
        CASES[f"check catalog {_name}"] = lambda d, s, n=_name: ["check", str(d / n), RULES]
        CASES[f"check rules {_name}"] = lambda d, s, n=_name: ["check", CATALOG, str(d / n)]
    CASES[f"explain catalog {_name}"] = lambda d, s, n=_name: [
        "explain",
        str(d / n),
        RULES,
        REQUEST,
    ]
    CASES[f"simulate new {_name}"] = lambda d, s, n=_name: [
        "simulate",
        CATALOG,
        RULES,
        str(d / n),
        REQUESTS,
    ]
    CASES[f"diagram catalog {_name}"] = lambda d, s, n=_name: [
        "diagram",
        "plan",
        str(d / n),
        "iphone-15",
    ]
    CASES[f"report catalog {_name}"] = lambda d, s, n=_name: ["report", str(d / n), s]
    CASES[f"suggest catalog {_name}"] = lambda d, s, n=_name: ["suggest", str(d / n), "phone"]
    CASES[f"suggest-eval catalog {_name}"] = lambda d, s, n=_name: [
        *["suggest-eval", str(d / n), LABELLED]
    ]
for _name in [*BAD_REQUESTS, "missing.toml", "folder.toml", "garbage.json", "bigint.json"]:
    if _name.endswith(".jsonl"):
        CASES[f"simulate requests {_name}"] = lambda d, s, n=_name: [
            "simulate",
            CATALOG,
            RULES,
            RULES,
            str(d / n),
        ]
    else:
        CASES[f"explain request {_name}"] = lambda d, s, n=_name: [
            "explain",
            CATALOG,
            RULES,
            str(d / n),
        ]
for _name in ["missing.toml", "folder.toml", "garbage.json", "syntax.json", "nan.json"]:
    CASES[f"suggest-eval labelled {_name}"] = lambda d, s, n=_name: [
        *["suggest-eval", INTAKE_CATALOG, str(d / n)]
    ]
for _db in ["missing.db", "folder.toml", "garbage.json", "empty.json", "other.db"]:
    CASES[f"report db {_db}"] = lambda d, s, n=_db: ["report", CATALOG, str(d / n)]
    CASES[f"report db sqlite:///{_db}"] = lambda d, s, n=_db: [
        "report",
        CATALOG,
        f"sqlite:///{d / n}",
    ]
BAD_URLS = [
    "postgresql://rf:secret@[::1/itsm",
    "postgresql://rf:secret@db:notaport/itsm",
    "postgresql://rf:secret@db:99999/itsm",
    "postgresql://%zz@db/itsm",
    "postgresql://rf:secret@127.0.0.1:1/itsm?connect_timeout=2",
    "ftp://example.org/x",
    "sqlite:///",
]
for _url in BAD_URLS:
    CASES[f"db upgrade {_url}"] = lambda d, s, u=_url: ["db", "upgrade", u]
    CASES[f"report db {_url}"] = lambda d, s, u=_url: ["report", CATALOG, u]
for _db in ["folder.toml", "garbage.json"]:
    CASES[f"db upgrade sqlite:///{_db}"] = lambda d, s, n=_db: [
        "db",
        "upgrade",
        f"sqlite:///{d / n}",
    ]
    CASES[f"demo --db {_db}"] = lambda d, s, n=_db: ["demo", "--db", str(d / n)]
CASES.update(
    {
        "report --png into a missing folder": lambda d, s: [
            *["report", CATALOG, s, "--png", str(d / "nowhere" / "chart.png")]
        ],
        "report --png onto a folder": lambda d, s: [
            *["report", CATALOG, s, "--png", str(d / "folder.toml")]
        ],
        "report --since garbage": lambda d, s: ["report", CATALOG, s, "--since", "yesterday"],
        "report --since arabic digits": lambda d, s: [
            *["report", CATALOG, s, "--since", "\u0662\u0660\u0662\u0666-01-01T00:00:00+00:00"]
        ],
        "report --by unknown": lambda d, s: ["report", CATALOG, s, "--by", "colour"],
        "simulate --limit arabic digits": lambda d, s: [
            *["simulate", CATALOG, RULES, RULES, REQUESTS, "--limit", "\u0663"]
        ],
        "simulate --limit huge": lambda d, s: [
            *["simulate", CATALOG, RULES, RULES, REQUESTS, "--limit", "9" * 5000]
        ],
        "diagram plan unknown item": lambda d, s: ["diagram", "plan", CATALOG, "nope"],
        "suggest -k 0": lambda d, s: ["suggest", INTAKE_CATALOG, "phone", "-k", "0"],
        "suggest-eval items the catalog lacks": lambda d, s: ["suggest-eval", CATALOG, LABELLED],
        "no command": lambda d, s: [],
    }
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_exit_status_2(
    case: str,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs = make_inputs(tmp_path / "inputs")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = snapshot(inputs, cwd)
    store_before = Path(store).stat().st_mtime_ns
    status = main(CASES[case](inputs, store))
    out, err = capsys.readouterr()
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("reqfulfill"), err
    assert "Traceback" not in err
    assert "secret" not in err
    assert out == ""
    assert snapshot(inputs, cwd) == before
    assert Path(store).stat().st_mtime_ns == store_before


def test_what_the_messages_say(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = make_inputs(tmp_path / "inputs")
    expected = {
        "duplicate.json": "duplicate.json: groups: duplicate key 'groups'",
        "nan.json": "nan.json:1: NaN is not JSON: numbers must be finite",
        "infinite.json": "infinite.json:1: number too large",
        "bigint.json": "bigint.json:1: integers may have at most 4300 digits",
        "nan.toml": "nan.toml:2: not a finite number",
        "stack.json": "input nested too deeply",
    }
    for name, message in expected.items():
        assert main(["check", str(inputs / name), RULES]) == 2
        assert message in capsys.readouterr().err, name
    assert main(["diagram", "plan", str(inputs / "nested.json"), "x"]) == 2
    assert "nested deeper than 32 levels" in capsys.readouterr().err
    assert main(["explain", CATALOG, RULES, str(inputs / "deep_request.json")]) == 2
    assert "deep_request.json: answers.a" in capsys.readouterr().err
    assert main(["simulate", CATALOG, RULES, RULES, str(inputs / "bad_lines.jsonl")]) == 2
    assert "bad_lines.jsonl:2: a: duplicate key 'a'" in capsys.readouterr().err
    assert main(["report", CATALOG, str(inputs / "missing.db")]) == 2
    assert "missing.db: no such store file" in capsys.readouterr().err


def test_json_output_is_strict_json(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", CATALOG, store, "--json"]) == 0
    text = capsys.readouterr().out
    rows = json.loads(text, parse_constant=lambda token: pytest.fail(f"{token} in --json output"))
    assert [row["key"] for row in rows] == ["iphone-15"]


def test_the_installed_command_prints_one_line_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reqfulfill", "report", CATALOG, str(tmp_path / "missing.db")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
