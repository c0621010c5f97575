"""``sqlite:///tmp/x.db`` is the relative path ``tmp/x.db``: where that quietly creates
``./tmp`` beside an existing ``/tmp``, the URL's parser warns and says how to write
the absolute path."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from reqfulfill import open_store
from reqfulfill.stores.sqlite import path_from_url

pytestmark = pytest.mark.skipif(not os.path.isdir("/tmp"), reason="needs a /tmp folder")


@pytest.fixture(autouse=True)
def _in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_relative_path_shadowing_an_absolute_folder_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"write sqlite:////tmp/x\.db \(four slashes\)"):
        assert path_from_url("sqlite:///tmp/x.db") == "tmp/x.db"
    with pytest.warns(UserWarning, match="relative path 'tmp/rf.db'"):
        store = open_store("sqlite:///tmp/rf.db")
    store.close()
    assert (tmp_path / "tmp" / "rf.db").exists()  # the URL still means what it says


def test_the_password_never_reaches_the_warning() -> None:
    with pytest.warns(UserWarning, match="four slashes") as caught:
        path_from_url("sqlite:///tmp/x.db?password=s3cret")
    assert "s3cret" not in str(caught[0].message)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////tmp/x.db",  # absolute: what was meant
        "sqlite:///no-such-top-folder-for-rf/x.db",  # no absolute folder of that name
        "sqlite:///x.db",
        "sqlite:///./tmp/x.db",  # explicitly relative
    ],
)
def test_other_paths_do_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path_from_url(url)


def test_no_warning_once_the_relative_folder_exists(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()  # the host keeps its stores in ./tmp on purpose
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path_from_url("sqlite:///tmp/x.db")
