"""Plugins from real entry points: a class is instantiated, and a plugin that fails to
load or raises in a hook is named (with its distribution) without breaking the hooks
it does not implement.

Each test installs a distribution of its own: a ``*.dist-info`` folder with an
``entry_points.txt`` and the plugin's module, in ``tmp_path`` put on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import logging
import sys
import textwrap
import types
from collections.abc import Callable, Mapping
from pathlib import Path

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    NotFoundError,
    PluginError,
    ReqfulfillError,
    ValidationError,
    Worker,
    hookimpl,
    open_store,
)
from reqfulfill.model import events as ev
from reqfulfill.model.supplier import Notification
from reqfulfill.plugins import PluginHost, get_plugin_manager
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

_numbers = itertools.count()

Install = Callable[[Mapping[str, str], str], dict[str, str]]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    """``install({name: "module:Target"}, source)``: a distribution ``rf-plugins-N 1.0``
    whose module (``source``, with ``MODULE`` standing for its name) the entry points
    name. Returns the entry points with the module's real name."""

    def make(entry_points: Mapping[str, str], source: str) -> dict[str, str]:
        number = next(_numbers)
        module = f"rf_test_plugin_{number}"
        root = tmp_path / f"site{number}"
        root.mkdir()
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"rf_plugins_{number}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: rf-plugins-{number}\nVersion: 1.0\n"
        )
        named = {name: target.replace("MODULE", module) for name, target in entry_points.items()}
        lines = "".join(f"{name} = {target}\n" for name, target in named.items())
        (info / "entry_points.txt").write_text(f"[reqfulfill]\n{lines}")
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.delitem(sys.modules, module, raising=False)
        return {"module": module, "dist": f"rf-plugins-{number} 1.0"}

    return make


DYNAMO = """
    import reqfulfill
    from reqfulfill.stores import MemoryStore

    class DynamoStorage:
        def __init__(self):
            self.opened = []

        @reqfulfill.hookimpl
        def reqfulfill_storage(self, url):
            if url.startswith("dynamodb://"):
                self.opened.append(url)
                return MemoryStore.from_url("memory://")
            return None
"""


def test_an_entry_point_naming_a_class_registers_an_instance(install: Install) -> None:
    # the form docs/stores.md shows: before, pluggy registered the class and every
    # open_store failed with "missing 1 required positional argument: 'url'"
    install({"dynamo": "MODULE:DynamoStorage"}, DYNAMO)
    assert open_store("memory://").load("nothing") == []
    pm = get_plugin_manager()
    plugin = pm.get_plugin("dynamo")
    assert type(plugin).__name__ == "DynamoStorage"
    assert not isinstance(plugin, type)
    store = PluginHost(pm).storage("dynamodb://table")
    assert store.load("nothing") == []
    assert plugin.opened == ["dynamodb://table"]


def test_an_entry_point_naming_a_module_or_an_instance_registers_it_as_is(
    install: Install,
) -> None:
    source = textwrap.dedent(DYNAMO) + "\nstorage = DynamoStorage()\n"
    names = install({"as-module": "MODULE", "as-instance": "MODULE:storage"}, source)
    pm = get_plugin_manager()
    module = sys.modules[names["module"]]
    assert pm.get_plugin("as-module") is module
    assert pm.get_plugin("as-instance") is module.storage
    assert PluginHost(pm).failures == ()


def test_a_plugin_that_fails_to_import_leaves_other_hooks_working(
    install: Install, caplog: pytest.LogCaptureFixture
) -> None:
    names = install(
        {"globex": "MODULE:GlobexPlugin"}, "raise ImportError(\"No module named 'globex_sdk'\")"
    )
    with caplog.at_level(logging.WARNING, logger="reqfulfill.plugins"):
        store = open_store("memory://")  # a broken supplier plugin breaks no store
    assert store.load("nothing") == []
    assert "'globex'" in caplog.text
    assert names["dist"] in caplog.text
    service = FulfillmentService(demo_catalog(), store="memory://")
    (failure,) = service.plugins.failures
    assert (failure.plugin, failure.distribution, failure.hook) == ("globex", names["dist"], None)
    assert "ImportError: No module named 'globex_sdk'" in str(failure)
    assert isinstance(failure.__cause__, ImportError)
    assert isinstance(failure, ReqfulfillError)
    # a hook it might have answered, unanswered: the failure is named, not "not found"
    with pytest.raises(PluginError, match=r"'globex' .from rf-plugins-.* failed to load") as err:
        service.plugins.connector("globex")
    assert "no other plugin answers for supplier 'globex'" in str(err.value)
    with pytest.raises(PluginError, match=r"store URL 'dynamodb://x'"):
        service.plugins.storage("dynamodb://x")


def test_a_plugin_whose_constructor_fails_is_named_with_its_distribution(
    install: Install,
) -> None:
    source = """
        class Needy:
            def __init__(self, region):
                self.region = region
    """
    names = install({"needy": "MODULE:Needy"}, source)
    host = PluginHost(get_plugin_manager())
    (failure,) = host.failures
    assert failure.plugin == "needy"
    assert failure.distribution == names["dist"]
    assert "missing 1 required positional argument: 'region'" in failure.reason
    assert host.pm.get_plugin("needy") is None
    assert host.storage("memory://").load("x") == []


def test_a_plugin_with_a_misspelled_hook_is_left_out_and_named(install: Install) -> None:
    source = """
        import reqfulfill

        class Typo:
            @reqfulfill.hookimpl
            def reqfulfill_notfy(self, notification):
                pass
    """
    names = install({"typo": "MODULE:Typo"}, source)
    host = PluginHost(get_plugin_manager())  # does not raise: only this plugin is left out
    (failure,) = host.failures
    assert failure.plugin == "typo"
    assert "reqfulfill_notfy" in failure.reason
    assert host.pm.get_plugin("typo") is None
    # a misspelled hook in the host's own plugins stays a loud error
    with pytest.raises(pluggy.PluginValidationError):
        get_plugin_manager([sys.modules[names["module"]].Typo()], load_entrypoints=False)


def test_no_storage_plugin_and_no_failure_masks_the_password() -> None:
    with pytest.raises(ValidationError, match=r"no storage plugin") as err:
        open_store("mongodb://rf:s3cret@db/itsm")
    assert "s3cret" not in str(err.value)
    assert err.value.problems[0].value == "mongodb://rf:***@db/itsm"


def test_a_failed_load_never_shows_the_store_password(install: Install) -> None:
    install({"broken": "MODULE"}, "raise RuntimeError('boom')")
    with pytest.raises(PluginError) as err:
        open_store("mongodb://rf:s3cret@db/itsm")
    assert "s3cret" not in str(err.value)
    assert "mongodb://rf:***@db/itsm" in str(err.value)


RAISING = """
    import reqfulfill

    class Mailer:
        @reqfulfill.hookimpl
        def reqfulfill_notify(self, notification):
            raise ConnectionError("smtp.example.com refused the connection")

    class Globex:
        @reqfulfill.hookimpl
        def reqfulfill_supplier_connectors(self):
            return self.connectors()  # AttributeError: the plugin's bug

    class Stores:
        @reqfulfill.hookimpl
        def reqfulfill_storage(self, url):
            raise KeyError(url)
"""


def test_a_hook_that_raises_is_named_on_that_hook_only(install: Install) -> None:
    names = install({"mailer": "MODULE:Mailer", "globex": "MODULE:Globex"}, RAISING)
    supplier = FakeSupplier("acme-mobile")
    service = FulfillmentService(demo_catalog(), store="memory://", plugins=[supplier])
    assert service.plugins.failures == ()
    # another plugin's supplier is still served; the raising one is named for its own
    assert service.plugins.connector("acme-mobile") is supplier
    with pytest.raises(PluginError, match=r"'globex' .* raised in reqfulfill_supplier_conn"):
        service.plugins.connector("globex")
    with pytest.raises(PluginError) as err:
        service.plugins.notify(Notification("k", "erin.user", "REQ-1", "s", "b"))
    error = err.value
    assert (error.plugin, error.distribution) == ("mailer", names["dist"])
    assert error.hook == "reqfulfill_notify"
    assert error.retryable
    assert "ConnectionError: smtp.example.com refused" in str(error)
    assert isinstance(error.__cause__, ConnectionError)
    assert service.plugins.group_members("desk") == set()  # hooks it lacks: untouched


def test_a_notifier_that_raises_is_retried_and_its_error_names_it(install: Install) -> None:
    install({"mailer": "MODULE:Mailer"}, RAISING)
    clock = FixedClock()
    service = FulfillmentService(demo_catalog(), store="memory://", clock=clock)
    worker = Worker(service, seed=1, allow_missing=True)
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    worker.run_pending()
    entry = service.store.claim_effects(clock.advance(hours=1), worker="look", lease=worker.lease)
    assert entry
    assert entry[0].attempts == 1  # retried, not abandoned
    assert "plugin 'mailer'" in (entry[0].last_error or "")
    assert not any(isinstance(e, ev.EffectAbandoned) for e in service.history(rid))


def test_a_storage_hook_that_raises_names_its_plugin(install: Install) -> None:
    install({"stores": "MODULE:Stores"}, RAISING)
    with pytest.raises(PluginError, match=r"'stores' .* raised in reqfulfill_storage: KeyError"):
        open_store("memory://")


def test_a_deliberate_reqfulfill_error_passes_through_unchanged() -> None:
    class Refuses:
        @pluggy.HookimplMarker("reqfulfill")
        def reqfulfill_storage(self, url: str) -> None:
            raise NotFoundError("table", url)

    with pytest.raises(NotFoundError):
        open_store("memory://", plugins=[Refuses()])


def test_load_entrypoints_false_loads_none(install: Install) -> None:
    install({"broken": "MODULE"}, "raise RuntimeError('boom')")
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    assert service.plugins.failures == ()
    assert service.plugins.pm.get_plugin("broken") is None


def test_a_worker_does_not_start_while_a_plugin_failed_to_load(install: Install) -> None:
    # a worker performs the side effects: without the notifier it would drop notices
    names = install({"mailer": "MODULE"}, "raise ImportError('No module named smtplib2')")
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[FakeSupplier("acme-mobile")]
    )
    with pytest.raises(ValidationError) as err:
        Worker(service, allow_missing=True)
    assert err.value.paths == ["plugins['mailer']"]
    assert err.value.problems[0].value == names["dist"]
    assert isinstance(err.value.__cause__, PluginError)
    assert "No module named smtplib2" in str(err.value)


# -- any mix of good and broken entry points -----------------------------------------------


class _KvStorage:
    @hookimpl
    def reqfulfill_storage(self, url: str) -> object:
        return open_store("memory://") if url == "kv://" else None


class _NeedsArgs:
    def __init__(self, region: str) -> None:
        self.region = region


class _Typo:
    @hookimpl
    def reqfulfill_storag(self, url: str) -> None:
        return None


_TARGETS = {
    "good": "rf_prop_plugins:KvStorage",
    "import": "rf_prop_no_such_module:Plugin",
    "constructor": "rf_prop_plugins:NeedsArgs",
    "typo": "rf_prop_plugins:Typo",
    "attribute": "rf_prop_plugins:NoSuchClass",
}


@settings(max_examples=40)
@given(kinds=st.lists(st.sampled_from(sorted(_TARGETS)), max_size=6))
def test_any_mix_of_entry_points_leaves_the_good_ones_working(kinds: list[str]) -> None:
    module = types.ModuleType("rf_prop_plugins")
    module.KvStorage, module.NeedsArgs, module.Typo = _KvStorage, _NeedsArgs, _Typo  # type: ignore[attr-defined]
    points = [
        importlib.metadata.EntryPoint(f"p{i}-{kind}", _TARGETS[kind], "reqfulfill")
        for i, kind in enumerate(kinds)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "rf_prop_plugins", module)
        patch.setattr(importlib.metadata, "entry_points", lambda group: points)
        host = PluginHost(get_plugin_manager())
    assert host.storage("memory://").load("x") == []  # never taken down
    broken = {p.name for p in points if not p.name.endswith("-good")}
    assert {f.plugin for f in host.failures} == broken
    for point in points:
        assert (host.pm.get_plugin(point.name) is not None) == (point.name not in broken)
    if "good" in kinds:
        assert host.storage("kv://").load("x") == []
    elif broken:
        with pytest.raises(PluginError, match="no other plugin answers the store URL 'kv://'"):
            host.storage("kv://")
    else:
        with pytest.raises(ValidationError, match="no storage plugin"):
            host.storage("kv://")
