"""Harrier: Sigma rules and Splunk ESCU analytics over Windows event logs.

Load rules once with ``RuleSet``, hunt logs with ``hunt`` (results as ``pyarrow`` tables,
``.to_pandas()`` for a DataFrame), stream hits with ``hunt_batches``, read normalized events
with ``events``, run any SPL search with ``search``, and convert rules to other engines'
queries with ``convert``. ``help(harrier.hunt)`` and the others say more.
"""

from harrier._harrier import (
    HarrierError,
    HarrierWarning,
    HitBatches,
    HuntResult,
    InputError,
    RuleError,
    RuleSet,
    __version__,
    convert,
    events,
    hunt,
    hunt_batches,
    search,
)

__all__ = [
    "HarrierError",
    "HarrierWarning",
    "HitBatches",
    "HuntResult",
    "InputError",
    "RuleError",
    "RuleSet",
    "__version__",
    "convert",
    "events",
    "hunt",
    "hunt_batches",
    "search",
]
