"""Data forms: configuration (the one cattrs converter, files) and events (the one codec).

* :mod:`~reqfulfill.serialization.config` -- the strict converter
  (:func:`structure_config`, :func:`unstructure_config`), durations, and
  :func:`load_data_file`, the one place configuration files are read;
* :mod:`~reqfulfill.serialization.catalog` -- :func:`catalog_from_dict` and
  :func:`load_catalog` (what ``Catalog.from_dict`` / ``Catalog.from_toml`` do);
* :mod:`~reqfulfill.serialization.events` -- the stored form of events
  (:func:`event_to_json`, :func:`event_from_json`, ...).
"""

from reqfulfill.serialization.catalog import catalog_from_dict, load_catalog
from reqfulfill.serialization.config import (
    converter,
    format_duration,
    load_data_file,
    parse_duration,
    structure_config,
    unstructure_config,
)
from reqfulfill.serialization.events import (
    EVENT_SCHEMA_VERSION,
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
)

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "catalog_from_dict",
    "converter",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
    "format_duration",
    "load_catalog",
    "load_data_file",
    "parse_duration",
    "structure_config",
    "unstructure_config",
]
