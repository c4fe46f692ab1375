"""Benchmark (not a test): Harrier's engine inside Spark's executors against the embedded one.

Ingests the shared logs (EVTX and JSON) to a lake once (x1) and five times under different
paths (x5), then hunts each with the SigmaHQ rules folder, embedded (``harrier.hunt`` over the
log files, every core of this machine) and on Spark (``harrier.spark.hunt`` over the lake),
and prints the times and the marginal events per second per core: the events x5 adds over
x1 divided by the time it adds and by the cores at work.

    tests/spark/local-cluster.sh start
    python3 python/benches/spark_native.py sc://127.0.0.1:15002 [CORES_OF_THE_CLUSTER]
"""

import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import harrier
import harrier.spark
from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
LOGS = [DATA / "evtx", DATA / "json"]
RULES = [str(DATA / "sigma" / "rules")]
BIN = REPO / "target" / "release" / "harrier"


def copies(base: Path, times: int) -> list:
    """The shared logs `times` over, each copy under its own path (symbolic links)."""
    paths = []
    for copy in range(times):
        folder = base / f"copy-{copy}"
        folder.mkdir()
        for logs in LOGS:
            (folder / logs.name).symlink_to(logs)
        paths.append(folder)
    return paths


def timed(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def measure(spark, rules, times: int):
    """(events, embedded seconds, native seconds) of the logs `times` over."""
    with tempfile.TemporaryDirectory() as base:
        logs = copies(Path(base), times)
        lake = Path(base) / "lake"
        subprocess.run([str(BIN), "-q", "ingest", *map(str, logs), "--out", str(lake)], check=True)
        embedded_time, embedded = timed(lambda: harrier.hunt(logs, RULES))
        native_time, native = timed(lambda: harrier.spark.hunt(spark, str(lake), rules))
    assert native.hits.num_rows == embedded.hits.num_rows
    events = native.summary["events"]
    print(f"x{times}: {events} events, {native.hits.num_rows} hits; embedded {embedded_time:.1f} s, "
          f"native on Spark {native_time:.1f} s")
    return events, embedded_time, native_time


def main() -> None:
    url = sys.argv[1]
    cluster_cores = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    local_cores = os.cpu_count() or 1
    spark = SparkSession.builder.remote(url).getOrCreate()
    warnings.simplefilter("ignore", harrier.HarrierWarning)
    rules = harrier.spark.RuleFiles(RULES)
    print("warm-up (the executors' Python workers start and compile the rules):")
    measure(spark, rules, 1)
    (events1, embedded1, native1), (events5, embedded5, native5) = measure(spark, rules, 1), measure(spark, rules, 5)
    added = events5 - events1
    embedded_rate = added / (embedded5 - embedded1) / local_cores
    native_rate = added / (native5 - native1) / cluster_cores
    print(f"marginal events/s per core: embedded {embedded_rate:,.0f} ({local_cores} cores), "
          f"native on Spark {native_rate:,.0f} ({cluster_cores} cores): {native_rate / embedded_rate:.2f}x")


if __name__ == "__main__":
    main()
