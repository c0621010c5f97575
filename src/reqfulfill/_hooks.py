"""The pluggy markers. ``hookimpl`` is re-exported as ``reqfulfill.hookimpl``."""

from __future__ import annotations

import pluggy

PROJECT = "reqfulfill"

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification in :mod:`reqfulfill.hookspecs`."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's implementation of a reqfulfill hook."""
