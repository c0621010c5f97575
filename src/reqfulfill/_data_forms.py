"""The catalog's data forms for the model, loaded on first use.

``Catalog.from_dict``, ``Catalog.from_toml`` and the value types' ``from_dict`` /
``to_dict`` delegate to a :class:`~reqfulfill.model.catalog.DataForms` (the model
reads no files and knows no converter). The real one lives with the configuration
loaders in :mod:`reqfulfill.serialization.catalog`, which registers itself when it is
imported; until then, the package registers this stand-in, which imports it on the
first call, so ``import reqfulfill`` does not pay for building the converter.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any, TypeVar

from reqfulfill.model.catalog import Catalog, DataForms

T = TypeVar("T")


class DeferredDataForms:
    """A :class:`~reqfulfill.model.catalog.DataForms` that loads the real one on use."""

    __slots__ = ()

    @staticmethod
    def _loaded() -> DataForms:
        from reqfulfill.serialization.catalog import CONFIG_FORMS

        return CONFIG_FORMS

    def structure(self, data: Mapping[str, Any], cls: type[T], *, source: str | None) -> T:
        """See :meth:`reqfulfill.model.catalog.DataForms.structure`."""
        return self._loaded().structure(data, cls, source=source)

    def unstructure(self, value: object) -> dict[str, Any]:
        """See :meth:`reqfulfill.model.catalog.DataForms.unstructure`."""
        return self._loaded().unstructure(value)

    def catalog(
        self, data: Mapping[str, Any], cls: type[Catalog], *, source: str | None
    ) -> Catalog:
        """See :meth:`reqfulfill.model.catalog.DataForms.catalog`."""
        return self._loaded().catalog(data, cls, source=source)

    def load_catalog(self, path: str | PathLike[str], cls: type[Catalog]) -> Catalog:
        """See :meth:`reqfulfill.model.catalog.DataForms.load_catalog`."""
        return self._loaded().load_catalog(path, cls)
