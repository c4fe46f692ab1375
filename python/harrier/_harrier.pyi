"""Type stubs of Harrier's native module (re-exported by ``harrier``)."""

import datetime
import os
from typing import Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

import pandas
import pyarrow

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
Paths = Union[StrPath, Sequence[StrPath]]
Time = Union[datetime.datetime, str]

class HarrierError(Exception):
    """Base class of the errors Harrier raises."""

class RuleError(HarrierError):
    """Rules cannot be used (a missing rule path or support file, or no rule that loads)."""

    file: Optional[str]
    line: Optional[int]
    id: Optional[str]

class InputError(HarrierError):
    """Logs cannot be read (a path that does not exist, or nothing readable)."""

    path: str

class HarrierWarning(UserWarning):
    """Something was skipped and the work went on; a summary lists each."""

class RuleSet:
    """Rules compiled once and reused by many hunts."""

    def __init__(
        self,
        rules: Paths,
        *,
        macros: Optional[Paths] = None,
        lookups: Optional[Paths] = None,
        vars: Optional[Union[Mapping[str, Union[str, Sequence[str]]], StrPath]] = None,
        exclude: Optional[StrPath] = None,
        min_level: Optional[Literal["informational", "low", "medium", "high", "critical"]] = None,
        tags: Optional[Sequence[str]] = None,
        cache: bool = True,
    ) -> None: ...
    @property
    def rules(self) -> pyarrow.Table:
        """Every rule document with what became of it (one row per document)."""
    @property
    def failed(self) -> list[dict[str, object]]:
        """The documents that did not load: file, line, id, title, reason."""
    def __len__(self) -> int: ...

class HuntResult:
    """What ``hunt`` found."""

    @property
    def hits(self) -> pyarrow.Table: ...
    @property
    def correlations(self) -> pyarrow.Table: ...
    @property
    def rows(self) -> pyarrow.Table: ...
    @property
    def summary(self) -> dict[str, object]: ...
    def to_pandas(self) -> pandas.DataFrame:
        """The hits as a pandas DataFrame."""
    def rows_of(self, rule: str) -> pyarrow.Table:
        """One SPL detection's result rows (by id), one column per field."""

class HitBatches(Iterator[pyarrow.RecordBatch]):
    """Hits as record batches; ``summary`` is set once exhausted."""

    summary: Optional[dict[str, object]]
    def __iter__(self) -> "HitBatches": ...
    def __next__(self) -> pyarrow.RecordBatch: ...

def hunt(
    paths: Paths,
    rules: Union[RuleSet, Paths],
    *,
    since: Optional[Time] = None,
    until: Optional[Time] = None,
    fields: Optional[Sequence[str]] = None,
    threads: Optional[int] = None,
    engine: Literal["embedded", "spark"] = "embedded",
    connect: Optional[str] = None,
    table: Optional[str] = None,
) -> HuntResult:
    """Runs rules over logs: hits, correlation results and SPL rows as Arrow tables."""

def hunt_batches(
    paths: Paths,
    rules: Union[RuleSet, Paths],
    *,
    since: Optional[Time] = None,
    until: Optional[Time] = None,
    fields: Optional[Sequence[str]] = None,
    threads: Optional[int] = None,
) -> HitBatches:
    """The hits of ``hunt`` as an iterator of record batches, for inputs larger than memory."""

def events(
    paths: Paths,
    *,
    where: Optional[Sequence[str]] = None,
    fields: Optional[Sequence[str]] = None,
    since: Optional[Time] = None,
    until: Optional[Time] = None,
) -> pyarrow.Table:
    """Normalized events as a table: the lake's core columns, then one column per field."""

def search(
    spl: str,
    paths: Paths,
    *,
    macros: Optional[Paths] = None,
    lookups: Optional[Paths] = None,
) -> pyarrow.Table:
    """Any SPL search over logs: its result rows as a table."""

def convert(
    rules: Union[RuleSet, Paths],
    to: Literal["lucene", "es-dsl", "esql", "splunk", "sql"],
    *,
    mapping: Optional[str] = None,
    dialect: Optional[Literal["sqlite", "duckdb", "postgres", "spark"]] = None,
) -> pyarrow.Table:
    """Every rule document as a query for another engine, or the reason it cannot be."""

# Used by harrier.spark (inside Spark's executors and on the driver), not called directly.
def _concerned_rows(
    rules: RuleSet, batch: pyarrow.RecordBatch, *, since: Optional[Time] = None, until: Optional[Time] = None
) -> pyarrow.RecordBatch: ...
def _hits_of_rows(
    rules: RuleSet,
    batch: pyarrow.RecordBatch,
    *,
    fields: Optional[Sequence[str]] = None,
    since: Optional[Time] = None,
    until: Optional[Time] = None,
) -> pyarrow.RecordBatch: ...
def _hunt_rows(
    rules: RuleSet,
    batches: Sequence[pyarrow.RecordBatch],
    events: int,
    *,
    fields: Optional[Sequence[str]] = None,
    since: Optional[Time] = None,
    until: Optional[Time] = None,
) -> HuntResult: ...
def _rule_sources(
    rules: Paths, *, macros: Optional[Paths] = None, lookups: Optional[Paths] = None
) -> Tuple[List[str], List[str], List[str]]: ...
