"""Harrier's own engine inside Apache Spark's executors.

A lake that ``harrier ingest`` wrote (a path), a table of the same columns, or a DataFrame of
them is read by Spark in parallel; each executor compiles the rule set once (per Python worker
process) and runs it over the Arrow batches Spark hands it (``mapInArrow``)::

    from pyspark.sql import SparkSession
    import harrier.spark

    spark = SparkSession.builder.remote("sc://spark-master:15002").getOrCreate()
    result = harrier.spark.hunt(spark, "/lake/native", ["sigma/rules", "escu/detections"])
    result.hits.to_pandas()

``hunt`` gives the ``HuntResult`` ``harrier.hunt`` gives over the same logs: the executors
send back only the events that can change a result (a rule matches, an SPL detection keeps
a row, a rule cannot decide), and the driver hunts those with the embedded engine, so
correlations and SPL ``stats`` are exact. ``hits`` gives the hits as a Spark DataFrame,
computed on the executors and never collected (correlations and aggregates need ``hunt``).

The executors need the ``harrier`` package (the Python that ``PYSPARK_PYTHON`` names) and
``pyarrow``. The rule files travel with the job: an executor that sees the same files at the
same paths (a shared file system) uses them, another writes them to a temporary folder.
Works with a Spark Connect session and a classic one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from harrier import _harrier
from harrier._harrier import HuntResult, RuleSet

__all__ = ["hunt", "hits", "concerned", "RuleFiles", "LAKE_COLUMNS"]

#: The lake columns the engine reads: each event is rebuilt from them.
LAKE_COLUMNS = ["_source", "_record", "_timestamp", "_event"]


class RuleFiles:
    """The files a rule set is built from, as bytes: what an executor compiles.

    ``rules``, ``macros``, ``lookups``, ``exclude``, ``vars``, ``min_level`` and ``tags`` are
    ``harrier.RuleSet``'s arguments. Picklable; ``load()`` builds the rule set, once per
    process for the same files.
    """

    def __init__(
        self,
        rules: Any,
        *,
        macros: Any = None,
        lookups: Any = None,
        exclude: Any = None,
        vars: Optional[Dict[str, Any]] = None,
        min_level: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
    ) -> None:
        rule_paths, macro_dirs, lookup_dirs = _harrier._rule_sources(rules, macros=macros, lookups=lookups)
        self.roots = {
            "rules": [os.path.abspath(path) for path in rule_paths],
            "macros": [os.path.abspath(path) for path in macro_dirs],
            "lookups": [os.path.abspath(path) for path in lookup_dirs],
            "exclude": _file_list(exclude),
            # vars: a dict of values travels as it is, a YAML file as its bytes.
            "vars": _file_list(None if isinstance(vars, dict) else vars),
        }
        self.options = {
            "vars": vars if isinstance(vars, dict) else None,
            "min_level": min_level,
            "tags": list(tags) if tags else None,
        }
        self.files = _read_files(path for paths in self.roots.values() for path in paths)
        self.digest = _digest(self.files, self.options)

    def load(self) -> RuleSet:
        """The rule set, compiled once per process for these files."""
        loaded = _LOADED.get(self.digest)
        if loaded is None:
            loaded = _LOADED[self.digest] = self._build()
        return loaded

    def _build(self) -> RuleSet:
        roots = self.roots
        if not self._same_files_here():
            base = os.path.join(tempfile.gettempdir(), "harrier-rules-" + self.digest[:16])
            for path, data in self.files.items():
                _write_once(_under(base, path), data)
            roots = {kind: [_under(base, path) for path in paths] for kind, paths in roots.items()}
        return RuleSet(
            roots["rules"],
            macros=roots["macros"] or None,
            lookups=roots["lookups"] or None,
            exclude=roots["exclude"][0] if roots["exclude"] else None,
            **{**self.options, **({"vars": roots["vars"][0]} if roots["vars"] else {})},
        )

    def _same_files_here(self) -> bool:
        try:
            here = _read_files(path for paths in self.roots.values() for path in paths)
        except OSError:
            return False
        return _digest(here, self.options) == self.digest


#: Rule sets built in this process, by the digest of their files.
_LOADED: Dict[str, RuleSet] = {}


def _file_list(path: Any) -> List[str]:
    return [os.path.abspath(os.fspath(path))] if path is not None else []


def _read_files(paths: Iterable[str]) -> Dict[str, bytes]:
    files: Dict[str, bytes] = {}
    for path in paths:
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                for name in names:
                    full = os.path.join(folder, name)
                    files[full] = _read(full)
        else:
            files[path] = _read(path)
    return files


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def _digest(files: Dict[str, bytes], options: Dict[str, Any]) -> str:
    digest = hashlib.sha256(repr(sorted(options.items())).encode())
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return digest.hexdigest()


def _under(base: str, path: str) -> str:
    return os.path.join(base, os.path.splitdrive(path)[1].lstrip("/\\"))


def _write_once(path: str, data: bytes) -> None:
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _frame(spark: Any, source: Any) -> Any:
    """The lake's event columns as a DataFrame: from a DataFrame, a lake path or a table."""
    if hasattr(source, "mapInArrow"):
        frame = source
    elif isinstance(source, (str, os.PathLike)) and (os.path.exists(source) or "://" in os.fspath(source)):
        path = os.fspath(source)
        frame = spark.read.parquet(os.path.abspath(path) if os.path.exists(path) else path)
    elif isinstance(source, str):
        frame = spark.table(source)
    else:
        raise TypeError(f"source is a DataFrame, a lake path or a table name, not {type(source).__name__}")
    missing = [column for column in LAKE_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"the events lack the columns {missing}: hunt a lake `harrier ingest` wrote")
    return frame.select(*LAKE_COLUMNS)


def _rule_files(rules: Any, options: Dict[str, Any]) -> RuleFiles:
    return rules if isinstance(rules, RuleFiles) else RuleFiles(rules, **options)


def _on_executors(files: RuleFiles, run: Callable[[RuleSet, Any], Any]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """What `mapInArrow` runs in an executor: `run(rules, batch)` on each batch, the rule set
    compiled once per worker process, empty results left out."""

    def each_batch(batches: Iterator[Any]) -> Iterator[Any]:
        rules = files.load()
        for batch in batches:
            found = run(rules, batch)
            if found.num_rows:
                yield found

    return each_batch


def hunt(
    spark: Any,
    source: Any,
    rules: Any,
    *,
    since: Any = None,
    until: Any = None,
    fields: Optional[List[str]] = None,
    **rule_options: Any,
) -> HuntResult:
    """Hunts a lake on Spark with Harrier's engine in the executors; collects the results.

    ``source``: a lake directory (a path the cluster reads: local, ``hdfs://``, ``s3a://``),
    a table name, or a DataFrame with the lake's columns. ``rules``: rule paths (or a
    ``RuleFiles``); ``macros``, ``lookups``, ``exclude``, ``vars``, ``min_level`` and ``tags``
    as ``harrier.RuleSet`` takes them. ``since``, ``until`` and ``fields`` as
    ``harrier.hunt``. Gives the ``HuntResult`` the embedded engine gives for the same events.
    """
    files = _rule_files(rules, rule_options)
    kept, events = concerned(spark, source, files, since=since, until=until)
    return _harrier._hunt_rows(files.load(), kept.to_batches(), events, fields=fields, since=since, until=until)


def concerned(spark: Any, source: Any, rules: Any, *, since: Any = None, until: Any = None, **rule_options: Any) -> Tuple[Any, int]:
    """What ``hunt`` collects: the lake rows that can change the results of a hunt with these
    rules (a ``pyarrow.Table`` of the lake's event columns), and the events of the whole
    table. ``harrier hunt --engine spark --native`` hunts these rows itself.
    """
    files = _rule_files(rules, rule_options)
    files.load()  # here first: a rule set that cannot load fails before the cluster works
    frame = _frame(spark, source)
    keep = _on_executors(files, lambda rules, batch: _harrier._concerned_rows(rules, batch, since=since, until=until))
    return frame.mapInArrow(keep, frame.schema).toArrow(), frame.count()


def hits(
    spark: Any,
    source: Any,
    rules: Any,
    *,
    since: Any = None,
    until: Any = None,
    fields: Optional[List[str]] = None,
    **rule_options: Any,
) -> Any:
    """The hits of a lake as a Spark DataFrame, computed in the executors (lazily, like any
    DataFrame): the columns of ``harrier.hunt(...).hits``, one row per Sigma hit and per event
    an SPL detection keeps without aggregating. Arguments as ``hunt``.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    files = _rule_files(rules, rule_options)
    schema = _harrier._hits_of_rows(files.load(), _empty_lake_batch(), fields=fields).schema
    window = {"since": since, "until": until}
    hunt_batch = _on_executors(
        files, lambda rules, batch: _harrier._hits_of_rows(rules, batch, fields=fields, **window)
    )
    return _frame(spark, source).mapInArrow(hunt_batch, from_arrow_schema(schema))


def _empty_lake_batch() -> Any:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("_source", pa.string()),
            ("_record", pa.int64()),
            ("_timestamp", pa.timestamp("us", tz="UTC")),
            ("_event", pa.string()),
        ]
    )
    return pa.RecordBatch.from_pylist([], schema=schema)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``python -m harrier.spark``: the rows the executors keep, for ``harrier hunt --engine
    spark --native``: written to ``--out`` as an Arrow IPC stream; the table's event count
    printed as JSON (``{"events": N}``)."""
    import argparse
    import json
    import warnings

    import pyarrow as pa

    # PySpark's notes on pandas versions concern pandas UDFs, not this job.
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    from pyspark.sql import SparkSession

    parser = argparse.ArgumentParser(prog="python -m harrier.spark", description=main.__doc__)
    parser.add_argument("--connect", required=True, help="the Spark Connect server, sc://host:port")
    parser.add_argument("--source", required=True, help="a lake directory or a table")
    parser.add_argument("--out", required=True, help="the Arrow IPC stream file to write")
    parser.add_argument("--rules", action="append", required=True)
    parser.add_argument("--macros", action="append")
    parser.add_argument("--lookups", action="append")
    parser.add_argument("--since")
    parser.add_argument("--until")
    args = parser.parse_args(argv)
    # The command line reports the rules that do not load; saying it twice helps nobody.
    warnings.simplefilter("ignore", _harrier.HarrierWarning)
    spark = SparkSession.builder.remote(args.connect).getOrCreate()
    # Placeholder values (--vars) stay with the command line: without them a placeholder
    # matches any value, so the executors keep every row the values could select.
    rules = RuleFiles(args.rules, macros=args.macros, lookups=args.lookups)
    kept, events = concerned(spark, args.source, rules, since=args.since, until=args.until)
    with pa.OSFile(args.out, "wb") as out, pa.ipc.new_stream(out, kept.schema) as writer:
        writer.write_table(kept)
    print(json.dumps({"events": events}))


if __name__ == "__main__":
    # The importable module's main, not this copy's: Spark pickles the executors' functions
    # and classes of an importable module by reference, of `__main__` by value (with this
    # process's compiled rule sets, which do not pickle).
    from harrier.spark import main as importable_main

    importable_main()
