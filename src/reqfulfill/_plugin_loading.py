"""Loading entry-point plugins one by one, and naming the plugin behind a failure.

Every entry point of the ``reqfulfill`` group is loaded on its own: one that fails
to import, whose class cannot be built, or whose hook implementations pluggy
refuses, is left out and recorded as a :class:`~reqfulfill.model.errors.PluginError`
(naming it and its distribution) in the manager's :class:`PluginOrigins`. The
others load, so a broken supplier plugin leaves ``memory://`` working; the host
reports the failure when a hook the plugin might have answered goes unanswered
(see :class:`reqfulfill.plugins.PluginHost`).
"""

from __future__ import annotations

import importlib.metadata
import logging
import traceback
import types
from collections.abc import Callable
from typing import Any, Final

import pluggy

from reqfulfill._hooks import PROJECT
from reqfulfill.model.errors import PluginError

__all__ = [
    "ORIGINS",
    "PluginOrigins",
    "blame",
    "describe_failures",
    "load_entry_points",
    "one_line",
    "origins_of",
]

log = logging.getLogger("reqfulfill.plugins")

ORIGINS: Final = "reqfulfill.plugin-origins"
"""The name :class:`PluginOrigins` is registered under in each plugin manager."""


class PluginOrigins:
    """Where each entry-point plugin came from, and the plugins that failed to load.

    Registered in the plugin manager (it implements no hook) so that it travels
    with the manager to the :class:`~reqfulfill.plugins.PluginHost` built on it.
    """

    def __init__(self) -> None:
        self.distributions: dict[str, str] = {}
        self.failures: list[PluginError] = []

    def distribution(self, plugin: str) -> str | None:
        """``"name version"`` of the distribution that provides ``plugin`` (None: a
        plugin registered in code)."""
        return self.distributions.get(plugin)

    def fail(self, error: PluginError, cause: BaseException) -> None:
        """Record that ``error.plugin`` failed to load because of ``cause``."""
        error.__cause__ = cause
        self.failures.append(error)
        log.warning(
            "%s; the hooks it implements are not called. Fix or uninstall it, or pass "
            "load_entrypoints=False and register plugins yourself",
            error,
        )


def origins_of(pm: pluggy.PluginManager) -> PluginOrigins:
    """The manager's :class:`PluginOrigins` (an empty one for a manager built by hand)."""
    found = pm.get_plugin(ORIGINS)
    return found if isinstance(found, PluginOrigins) else PluginOrigins()


def one_line(exc: BaseException) -> str:
    """``"TypeError: message"``, the message's first line, bounded."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _distribution_of(entry: importlib.metadata.EntryPoint) -> str | None:
    dist = entry.dist
    if dist is None:
        return None
    return f"{dist.name} {dist.version}"


def load_entry_points(pm: pluggy.PluginManager, origins: PluginOrigins) -> None:
    """Register every plugin of the ``reqfulfill`` entry-point group, each on its own.

    An entry point may name a module, an instance or a class; a class is instantiated
    with no arguments (as tox does) and the instance is registered. One that cannot
    be loaded, built or registered, or that implements a hook reqfulfill does not
    specify, is left out and recorded in ``origins``.
    """
    loaded: list[str] = []
    for entry in importlib.metadata.entry_points(group=PROJECT):
        if pm.get_plugin(entry.name) is not None or pm.is_blocked(entry.name):
            continue
        dist = _distribution_of(entry)
        try:
            target = entry.load()
            plugin = target() if isinstance(target, type) else target
            pm.register(plugin, name=entry.name)
        except Exception as exc:  # the plugin's import or constructor: left out, reported
            origins.fail(PluginError(entry.name, dist, one_line(exc)), exc)
            continue
        if dist is not None:
            origins.distributions[entry.name] = dist
        loaded.append(entry.name)
    # a hook implementation matching no specification: that plugin is left out too
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin)
            if name not in loaded:
                raise
            pm.unregister(exc.plugin)
            loaded.remove(name)
            origins.fail(PluginError(name, origins.distributions.pop(name, None), str(exc)), exc)


def _code_of(function: Callable[..., Any]) -> types.CodeType | None:
    """The code object a hook implementation runs (through decorators), if it is a
    function or a method."""
    if isinstance(function, types.MethodType):
        function = function.__func__
    while isinstance(function, types.FunctionType):
        inner = function.__dict__.get("__wrapped__")
        if not callable(inner):
            return function.__code__
        function = inner
    return None


def blame(caller: pluggy.HookCaller, exc: Exception, origins: PluginOrigins) -> PluginError | None:
    """The :class:`PluginError` naming the implementation of ``caller`` that raised
    ``exc`` (the outermost frame of the traceback that is a hook implementation's),
    or None when no implementation's frame is on it (pluggy refused the call)."""
    by_code = {}
    for impl in caller.get_hookimpls():
        code = _code_of(impl.function)
        if code is not None:
            by_code[code] = impl.plugin_name
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        name = by_code.get(frame.f_code)
        if name is not None:
            return PluginError(name, origins.distribution(name), one_line(exc), hook=caller.name)
    return None


def describe_failures(failures: list[PluginError], limit: int = 6) -> str:
    """The plugins that failed, in a few words: ``'acme' (from acme 1.0), 'x'``."""
    names = [
        f"{f.plugin!r}" + (f" (from {f.distribution})" if f.distribution else "")
        for f in failures[:limit]
    ]
    if len(failures) > limit:
        names.append(f"{len(failures) - limit} more")
    return ", ".join(names)
