"""Catalog suggestions for free text: :class:`Suggester`, BM25 over each item's name,
category, description and keywords.

Words are Unicode-aware, case folded and stemmed (``snowballstemmer`` where the
``intake`` extra is installed, in the catalog's ``[intake] language``); a word the
catalog does not know is matched to a catalog word one typing slip away ("pasword",
"iphnoe"), at a lower weight. A suggestion is always an item of the catalog, with the
words of the text that led to it.

``confidence`` is a softmax over the best items' scores with a "none of them"
candidate of a fixed score, so text that matches nothing well gets no suggestion
rather than a guess, and two items that match alike share the confidence. The
constants are set on the labelled messages shipped with the examples
(``examples/intake/labelled.jsonl``): at a threshold ``t`` about a fraction ``t`` or
more of the top suggestions are right (``reqfulfill suggest-eval`` prints the figures
for an organisation's own mail).

A :class:`Reranker` (the ``semantic`` extra's :class:`~reqfulfill.intake.semantic.SemanticRanker`)
may re-order the best candidates.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from reqfulfill.intake.text import Stemmer, stemmer_for, word_forms, words
from reqfulfill.model.catalog import Catalog, ServiceItem
from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import ItemSuggestion

__all__ = ["FIELD_WEIGHTS", "Reranker", "Suggester", "Suggestion"]

FIELD_WEIGHTS: Mapping[str, float] = {
    "name": 3.0,
    "keywords": 2.0,
    "category": 1.5,
    "description": 1.0,
    "id": 1.0,
}
"""How much a word counts in each field of an item (a word of the name counts three
times as much as one of the description)."""

_NAME, _KEYWORDS, _CATEGORY, _DESCRIPTION, _ID = (
    FIELD_WEIGHTS[f] for f in ("name", "keywords", "category", "description", "id")
)
_K1 = 1.2
_B = 0.75
_FUZZY_WEIGHT = 0.6
"""A word matched with one typing slip counts this much of an exact match."""
_FUZZY_MIN = 5
"""Words shorter than this are matched exactly only."""
_TEMPERATURE = 0.35
"""The softmax's temperature, on scores divided by ``ln(1 + items)``."""
_NONE_SCORE = 0.9
"""The normalised score of "none of them": a text must score clearly above it."""
_CANDIDATES = 10
"""How many of the best items the confidence is spread over (and a reranker sees)."""
_MAX_TEXT = 20_000
"""Characters of a text read (the start of a long mail says what it is about)."""


@attrs.frozen
class Suggestion:
    """A catalog item proposed for a text: its BM25 ``score``, its ``confidence``
    (0 to 1) and the ``terms`` of the text that matched it."""

    item: str
    score: float
    confidence: float
    terms: tuple[str, ...]

    def recorded(self) -> ItemSuggestion:
        """The suggestion as a request's history keeps it."""
        return ItemSuggestion(self.item, round(self.confidence, 4), self.terms)


@runtime_checkable
class Reranker(Protocol):
    """Re-orders a suggester's best candidates (a semantic model, say)."""

    def rerank(self, text: str, candidates: Sequence[Suggestion]) -> list[Suggestion]:
        """The candidates in a new order with new confidences (the same items, or fewer)."""
        ...


class Suggester:
    """Suggests catalog items for free text.

    >>> from reqfulfill.testing import demo_catalog
    >>> top = Suggester(demo_catalog()).suggest("I forgot my password again")[0]
    >>> top.item, top.terms
    ('password-reset', ('password',))

    :param catalog: the catalog whose items are suggested.
    :param reranker: re-orders the best candidates (None: BM25 alone).
    :param language: the stemmer's language (default: the catalog's ``[intake] language``).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        reranker: Reranker | None = None,
        language: str | None = None,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise ValidationError.single("catalog", catalog, "expected a Catalog")
        if reranker is not None and not isinstance(reranker, Reranker):
            raise ValidationError.single("reranker", reranker, "expected a Reranker")
        if language is not None and not isinstance(language, str):
            raise ValidationError.single("language", language, "expected a language name")
        self.catalog = catalog
        self.reranker = reranker
        self._stem: Stemmer = stemmer_for(language or catalog.intake.language)
        self._items: list[ServiceItem] = list(catalog.items)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        self._terms: list[frozenset[str]] = []
        self._near: dict[str, set[str]] = defaultdict(set)
        self._scale = math.log(1.0 + max(1, len(self._items)))
        self._index()

    def _index(self) -> None:
        """Weighted term frequencies per item, BM25 weights per term, and the words one
        deletion away from each catalog word (for slips)."""
        counts: list[dict[str, float]] = []
        for item in self._items:
            tf: dict[str, float] = defaultdict(float)
            fields = (
                (item.name, _NAME),
                (" ; ".join(item.keywords), _KEYWORDS),
                (item.category.replace("/", " "), _CATEGORY),
                (item.description, _DESCRIPTION),
                (item.id.replace("-", " "), _ID),
            )
            for text, weight in fields:
                for word in words(text, self._stem):
                    tf[word] += weight
            counts.append(tf)
        self._terms = [frozenset(tf) for tf in counts]
        total = len(counts)
        lengths = [sum(tf.values()) for tf in counts]
        average = (sum(lengths) / total) if total else 1.0
        frequency: dict[str, int] = defaultdict(int)
        for tf in counts:
            for word in tf:
                frequency[word] += 1
        idf = {word: math.log(1.0 + (total - n + 0.5) / (n + 0.5)) for word, n in frequency.items()}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, tf in enumerate(counts):
            norm = _K1 * (1 - _B + _B * lengths[index] / (average or 1.0))
            for word, f in tf.items():
                postings[word].append((index, idf[word] * f * (_K1 + 1) / (f + norm)))
        self._postings = dict(postings)
        for word in self._postings:
            if len(word) >= _FUZZY_MIN - 1:
                for variant in _deletions(word):
                    self._near[variant].add(word)

    def _query(self, text: str) -> dict[str, tuple[str, float]]:
        """Catalog word -> (the text's word that matched it, weight)."""
        found: dict[str, tuple[str, float]] = {}
        # each stem once, with the first way the text writes it
        for word, written in dict(reversed(_stems_first(text[:_MAX_TEXT], self._stem))).items():
            if word in self._postings:
                found[word] = (written, 1.0)
            elif len(word) >= _FUZZY_MIN:
                for variant in (word, *_deletions(word)):
                    for near in self._near.get(variant, ()):
                        if near not in found and _one_slip(word, near):
                            found[near] = (written, _FUZZY_WEIGHT)
        return found

    def suggest(self, text: str, k: int = 3) -> list[Suggestion]:
        """Up to ``k`` catalog items for ``text``, the most likely first; none when
        nothing matches well.

        :raises ValidationError: ``text`` is not a string, ``k`` not a positive number.
        """
        if not isinstance(text, str):
            raise ValidationError.single("text", text, "expected a string")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValidationError.single("k", k, "expected a number of suggestions, 1 or more")
        query = self._query(text)
        scores: dict[int, float] = defaultdict(float)
        postings = self._postings
        for word, (_, weight) in query.items():
            for index, w in postings[word]:
                scores[index] += w * weight
        if not scores:
            return []
        best = heapq.nlargest(_CANDIDATES, scores.items(), key=lambda pair: (pair[1], -pair[0]))
        candidates = self._confident(best, query)
        if self.reranker is not None and candidates:
            candidates = self.reranker.rerank(text, candidates)
        return [c for c in candidates[:k] if c.confidence >= 0.005]

    def _confident(
        self, best: list[tuple[int, float]], query: Mapping[str, tuple[str, float]]
    ) -> list[Suggestion]:
        scale, t = self._scale, _TEMPERATURE
        top = best[0][1] / scale
        # softmax with the "none of them" candidate, shifted by the top score for range
        weights = [math.exp((score / scale - top) / t) for _, score in best]
        total = sum(weights) + math.exp((_NONE_SCORE - top) / t)
        out = []
        for (index, score), weight in zip(best, weights, strict=True):
            item = self._items[index]
            has = self._terms[index]
            terms = tuple(sorted({written for word, (written, _) in query.items() if word in has}))
            out.append(Suggestion(item.id, round(score, 6), min(1.0, weight / total), terms))
        return out


def _stems_first(text: str, stem: Stemmer) -> list[tuple[str, str]]:
    """``(stem, word as written)`` of the text's words, in order."""
    return [(s, w) for w, s in word_forms(text, stem)]


def _deletions(word: str) -> list[str]:
    """``word`` with one letter left out, each way."""
    return [word[:i] + word[i + 1 :] for i in range(len(word))]


def _one_slip(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one typing slip: a letter added, left out,
    replaced, or two neighbours swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    short, long = (a, b) if la < lb else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
