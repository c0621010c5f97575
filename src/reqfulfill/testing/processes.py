"""Run store calls from several processes at once: the contention checks of the kit."""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.plugins import open_store
from reqfulfill.testing.samples import T0, waiting_event

__all__ = ["contend_appends", "contend_claims", "run_in_processes"]


def _process_main(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    start: Any,
    results: Any,
    index: int,
) -> None:
    try:
        start.wait(timeout=60)
        results.put((index, True, target(*args)))
    except BaseException:
        results.put((index, False, traceback.format_exc()))


def run_in_processes(
    target: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, timeout: float = 120.0
) -> list[Any]:
    """Run ``target(*args)`` for each args tuple in its own fresh (spawned) process.

    The processes start their calls together (a barrier) so they really
    contend; returns the results in call order and fails if any process raised.
    ``target`` must be importable by module and name (a module-level function).
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(calls) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(target, args, start, results, i), daemon=True)
        for i, args in enumerate(calls)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=timeout)
        out: dict[int, Any] = {}
        failures: list[str] = []
        for _ in calls:
            try:
                index, ok, value = results.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"a contention process did not finish within {timeout} s")
            if ok:
                out[index] = value
            else:
                failures.append(value)
        for process in processes:
            process.join(timeout=timeout)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        results.close()
    if failures:
        pytest.fail("a contention process failed:\n" + "\n".join(failures))
    return [out[i] for i in range(len(calls))]


def contend_appends(
    url: str, worker: int, request_ids: Sequence[str], appends: int
) -> list[tuple[str, str]]:
    """Append ``appends`` tagged events over ``request_ids``, retrying stale versions."""
    store = open_store(url)
    acknowledged: list[tuple[str, str]] = []
    try:
        for i in range(appends):
            request_id = request_ids[(worker + i) % len(request_ids)]
            tag = f"w{worker}-{i}"
            for _attempt in range(10_000):
                version = len(store.load(request_id))
                event = waiting_event(request_id, version + 1, tag, T0 + timedelta(seconds=i))
                try:
                    store.append(request_id, [event], version)
                except ConcurrencyError:
                    continue
                acknowledged.append((request_id, tag))
                break
            else:  # pragma: no cover - a livelock is a failure of the store
                raise AssertionError(f"{request_id}: no append succeeded in 10,000 attempts")
    finally:
        store.close()
    return acknowledged


def contend_claims(url: str, worker: int, now: datetime) -> list[str]:
    """Claim and complete effects until none is left for this worker."""
    store = open_store(url)
    done: list[str] = []
    try:
        while True:
            entries = store.claim_effects(
                now, worker=f"worker-{worker}", lease=timedelta(hours=1), limit=3
            )
            if not entries:
                return done
            for entry in entries:
                done.append(entry.effect_id)
                store.complete_effect(entry.effect_id, worker=f"worker-{worker}")
    finally:
        store.close()
