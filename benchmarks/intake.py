"""Suggestion benchmark: ``Suggester.suggest`` per message, and building the index, on
catalogs of 500 and 5,000 items.

The catalogs are made up but shaped like real ones: each item has a name of two to
four words, a category, a description of about fifteen words and five keywords, drawn
from a vocabulary of 3,000 words and, four words in ten, from the words of the 16 items of
``examples/intake/catalog.toml`` (which are in the catalog too), so the messages'
words hit long posting lists. The messages are all those of
``examples/intake/labelled.jsonl``. Before timing, the answers are checked: every
suggestion is an item of the catalog, suggesting again gives the same, and most
messages get a suggestion.

Rows: ``suggest`` (``median_s`` seconds per message, all messages in turn) and
``suggest-index`` (seconds to build a ``Suggester``). Targets: under 1 ms per message
and under 1 s per index at 5,000 items.

Run: ``python -m benchmarks intake [--quick]``.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.lifecycle import row
from reqfulfill.intake import Suggester, read_labelled
from reqfulfill.intake.text import split_reply
from reqfulfill.model.catalog import Catalog

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "intake"
SIZES = (500, 5_000)
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "tu",
    "ra",
    "vo",
    "se",
    "di",
    "pa",
    "ber",
    "gan",
    "tor",
    "lis",
    "mun",
    "fel",
    "dra",
    "kon",
    "vir",
    "sol",
]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def big_catalog(size: int, seed: int = 7) -> Catalog:
    """The example catalog with made-up items added up to ``size`` items."""
    base = Catalog.from_toml(EXAMPLES / "catalog.toml").to_dict()
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 3_000)
    # the common words are the real catalog's own: the messages' words then hit long
    # posting lists, as in a large real catalog (the worst case for ``suggest``)
    common = sorted(
        {
            word
            for item in base["items"]
            for text in (item["name"], item.get("description", ""), *item.get("keywords", ()))
            for word in text.lower().split()
            if word.isalpha()
        }
    )

    def pick(count: int) -> list[str]:
        return [rng.choice(common if rng.random() < 0.4 else vocabulary) for _ in range(count)]

    items = base["items"]
    template = items[0]
    for index in range(size - len(items)):
        items.append(
            {
                **template,
                "id": f"item-{index}",
                "name": " ".join(pick(rng.randint(2, 4))),
                "category": "/".join(pick(2)),
                "description": " ".join(pick(15)),
                "keywords": pick(5),
                "attributes": {},
            }
        )
    return Catalog.from_dict(base)


def _texts() -> list[str]:
    return [split_reply(m.text)[0] or m.text for m in read_labelled(EXAMPLES / "labelled.jsonl")]


def _check(suggester: Suggester, texts: list[str]) -> None:
    catalog = suggester.catalog
    answered = 0
    for text in texts:
        found = suggester.suggest(text)
        answered += bool(found)
        for suggestion in found:
            if not catalog.has_item(suggestion.item):
                raise AssertionError(f"{suggestion.item!r} is not a catalog item")
        if found != suggester.suggest(text):
            raise AssertionError(f"{text!r}: suggestions differ between calls")
    if answered < len(texts) // 2:
        raise AssertionError(f"only {answered} of {len(texts)} messages got a suggestion")


def run(quick: bool = False, *, sizes: tuple[int, ...] | None = None) -> list[dict[str, Any]]:
    """The suggest and index rows per catalog size."""
    sizes = sizes or ((100, 500) if quick else SIZES)
    rounds = 1 if quick else 5
    texts = _texts()
    rows: list[dict[str, Any]] = []
    for size in sizes:
        catalog = big_catalog(size, seed=size)  # words no earlier size has stemmed
        builds, cpu = [], []
        for _ in range(rounds + 1):
            start, started = time.perf_counter(), time.process_time()
            suggester = Suggester(catalog)
            builds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - started)
        _check(suggester, texts)
        per_message, per_message_cpu = [], []
        for _ in range(rounds):
            start, started = time.perf_counter(), time.process_time()
            for text in texts:
                suggester.suggest(text)
            per_message.append((time.perf_counter() - start) / len(texts))
            per_message_cpu.append((time.process_time() - started) / len(texts))
        rows.append(
            row(
                "suggest",
                size,
                "bm25",
                per_message,
                messages=len(texts),
                cpu_s=statistics.median(per_message_cpu),
            )
        )
        # the first build stems every word of the catalog; later ones (a catalog
        # changed and indexed again) find the stems of the words seen before
        rows.append(row("suggest-index", size, "bm25", builds[:1], mode="cold", cpu_s=cpu[0]))
        rows.append(
            row(
                "suggest-index",
                size,
                "bm25",
                builds[1:],
                mode="warm",
                cpu_s=statistics.median(cpu[1:]),
            )
        )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r, statistics.median([r["median_s"]]))
