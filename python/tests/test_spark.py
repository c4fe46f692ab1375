"""``harrier.spark`` (Harrier's engine inside Spark's executors) against the embedded engine.

The shared logs are ingested to a lake with the release command line; a hunt of the lake on
Spark must give what ``harrier.hunt`` gives over the log files: every hit with every column,
every SPL row, every correlation. Needs ``../shared`` (as ``test_harrier.py``) and a Spark
Connect server: ``HARRIER_SPARK_CONNECT`` (what ``tests/spark/local-cluster.sh start``
prints; its workers run the Python that has ``harrier``); the classic session's test needs
``pyspark`` itself. Without a server (or ``pyspark``) the tests that need one skip, saying
so, unless ``HARRIER_REQUIRE_SPARK=1`` (set in ``.ci/run``).
"""

import collections
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import warnings

import pyarrow as pa
import pytest

import harrier
import harrier.spark

from shared_paths import BIN, DATA, ESCU, REPO, SHARED, SIGMA


def need(condition, message, required_by):
    if condition:
        return
    if os.environ.get(required_by) == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def spark():
    url = os.environ.get("HARRIER_SPARK_CONNECT")
    need(url, "HARRIER_SPARK_CONNECT not set: no Spark Connect server to hunt on", "HARRIER_REQUIRE_SPARK")
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(url).getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    need(SHARED.is_dir(), f"{SHARED} not found: the shared test data sits beside the repository", "HARRIER_REQUIRE_SHARED")
    assert BIN.exists(), f"{BIN} not built: cargo build --release --all-features (or set HARRIER_BIN)"
    out = tmp_path_factory.mktemp("lake") / "native"
    subprocess.run([str(BIN), "-q", "ingest", str(DATA), "--out", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def rule_paths():
    need(SHARED.is_dir(), f"{SHARED} not found: the shared test data sits beside the repository", "HARRIER_REQUIRE_SHARED")
    return [str(path) for path in SIGMA + [ESCU]]


def quietly(work):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", harrier.HarrierWarning)
        return work()


def sorted_hits(table):
    return table.sort_by([("source_file", "ascending"), ("record_id", "ascending"), ("rule_id", "ascending")])


def timed(what, work):
    start = time.monotonic()
    result = work()
    print(f"{what}: {time.monotonic() - start:.1f} s")
    return result


def test_a_native_hunt_on_spark_gives_the_embedded_results(spark, lake, rule_paths):
    embedded = timed("embedded hunt", lambda: quietly(lambda: harrier.hunt(DATA, rule_paths)))
    native = timed("native hunt on Spark", lambda: quietly(lambda: harrier.spark.hunt(spark, lake, rule_paths)))

    assert embedded.hits.num_rows > 1000
    assert sorted_hits(native.hits).equals(sorted_hits(embedded.hits)), "every hit, every column"
    assert native.rows.num_rows > 10
    assert native.rows.equals(embedded.rows), "every SPL row, in order"
    assert native.correlations.equals(embedded.correlations)
    for key in ("events", "rules_run", "hits", "correlations", "rows"):
        assert native.summary[key] == embedded.summary[key], key
    print(
        f"{native.summary['events']} events: {native.hits.num_rows} hits, {native.rows.num_rows} rows, "
        f"{native.correlations.num_rows} correlations, as embedded"
    )


# A classic session (a driver in this Python's process, as `pyspark` scripts and Databricks
# notebooks have): run in a process of its own, since a process holds one kind of session.
CLASSIC_HUNT = textwrap.dedent(
    """
    import sys, warnings
    import pyarrow.feather
    import harrier, harrier.spark
    from pyspark.sql import SparkSession

    lake, out, rules = sys.argv[1], sys.argv[2], sys.argv[3:]
    warnings.simplefilter("ignore", harrier.HarrierWarning)
    spark = SparkSession.builder.master("local[2]").appName("harrier-classic").getOrCreate()
    assert type(spark).__module__ == "pyspark.sql.session", "a classic session, not Spark Connect"
    native = harrier.spark.hunt(spark, lake, rules)
    pyarrow.feather.write_feather(native.hits, out + "/hits.arrow")
    pyarrow.feather.write_feather(native.rows, out + "/rows.arrow")
    spark.stop()
    """
)


def test_a_classic_session_hunts_on_the_executors_with_the_embedded_results(lake, rule_paths, tmp_path):
    from pyarrow import feather

    has_pyspark = importlib.util.find_spec("pyspark") is not None
    need(has_pyspark, "pyspark not installed: no classic Spark session to hunt on", "HARRIER_REQUIRE_SPARK")

    rules = [rule_paths[0], rule_paths[-1]]  # SigmaHQ's main folder and ESCU
    embedded = quietly(lambda: harrier.hunt(DATA, rules))
    # Without what this process's Connect session left in the environment for pyspark.
    connect_mode = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_LOCAL_REMOTE")
    environment = {name: value for name, value in os.environ.items() if name not in connect_mode}
    environment.update(PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    command = [sys.executable, "-c", CLASSIC_HUNT, str(lake), str(tmp_path), *rules]
    run = timed(
        "native hunt on a classic session",
        lambda: subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    hits, rows = feather.read_table(tmp_path / "hits.arrow"), feather.read_table(tmp_path / "rows.arrow")
    assert embedded.hits.num_rows > 1000 and embedded.rows.num_rows > 10
    assert sorted_hits(hits).equals(sorted_hits(embedded.hits)), "every hit, every column"
    assert rows.equals(embedded.rows), "every SPL row, in order"
    print(f"classic session: {hits.num_rows} hits and {rows.num_rows} SPL rows, as embedded")


def test_correlations_over_the_examples_are_the_embedded_ones(spark, tmp_path):
    logs, rules = REPO / "examples" / "logs", str(REPO / "examples" / "rules")
    lake = tmp_path / "lake"
    subprocess.run([str(BIN), "-q", "ingest", str(logs), "--out", str(lake)], check=True)
    embedded = quietly(lambda: harrier.hunt(logs, rules))
    native = quietly(lambda: harrier.spark.hunt(spark, lake, rules))
    assert native.correlations.num_rows > 0
    assert native.correlations.equals(embedded.correlations)
    assert native.rows.equals(embedded.rows)
    assert sorted_hits(native.hits).equals(sorted_hits(embedded.hits))


def test_the_hits_frame_is_computed_on_the_executors_with_the_embedded_hits(spark, lake, rule_paths):
    sigma = [path for path in rule_paths if "escu" not in path]
    embedded = quietly(lambda: harrier.hunt(DATA, sigma, fields=["Image"]))
    frame = quietly(lambda: harrier.spark.hits(spark, str(lake), sigma, fields=["Image"]))
    assert frame.columns == embedded.hits.column_names
    found = pa.Table.from_batches(frame.toArrow().to_batches()).cast(embedded.hits.schema)
    assert found.num_rows > 1000
    assert sorted_hits(found).equals(sorted_hits(embedded.hits))


def test_a_time_window_cuts_on_the_executors_as_it_does_here(spark, lake, rule_paths):
    window = {"since": "2020-09-01", "until": "2020-12-31"}
    embedded = quietly(lambda: harrier.hunt(DATA, rule_paths[:1], **window))
    native = quietly(lambda: harrier.spark.hunt(spark, lake, rule_paths[:1], **window))
    assert 0 < native.hits.num_rows < 1000
    assert sorted_hits(native.hits).equals(sorted_hits(embedded.hits))


def test_a_source_without_the_lake_columns_is_refused(spark):
    frame = spark.createDataFrame([(1, "x")], ["_record", "_source"])
    with pytest.raises(ValueError, match="_timestamp"):
        harrier.spark.hunt(spark, frame, [str(REPO / "examples" / "rules")])


def test_executors_without_the_rule_files_build_the_rules_from_their_bytes(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "examples" / "rules", rules)
    files = harrier.spark.RuleFiles(str(rules))
    here = files.load()
    assert files.load() is here, "built once per process"

    moved = harrier.spark.RuleFiles(str(rules))
    shutil.rmtree(rules)
    elsewhere = moved._build()
    assert elsewhere.rules.column("id").to_pylist() == here.rules.column("id").to_pylist()
    assert all("harrier-rules-" in path for path in elsewhere.rules.column("file").to_pylist())
    shown = collections.Counter(json.dumps(row, sort_keys=True) for row in here.rules.drop_columns(["file"]).to_pylist())
    again = collections.Counter(json.dumps(row, sort_keys=True) for row in elsewhere.rules.drop_columns(["file"]).to_pylist())
    assert shown == again


def test_the_readmes_spark_example_runs(spark, tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text()
    blocks = [block.split("```", 1)[0] for block in readme.split("```python\n")[1:]]
    blocks = [block for block in blocks if "harrier.spark" in block]
    assert blocks, "the README has a harrier.spark example"
    # Its cluster is this test's; its lake and rule folders are the examples' (Sigma and ESCU;
    # test_a_native_hunt_on_spark_gives_the_embedded_results hunts the shared data with all
    # of SigmaHQ and ESCU).
    lake = tmp_path / "lake"
    subprocess.run([str(BIN), "-q", "ingest", str(REPO / "examples" / "logs"), "--out", str(lake)], check=True)
    examples = REPO / "examples" / "rules"
    (tmp_path / "sigma" / "rules").mkdir(parents=True)
    for rule in examples.glob("*.yml"):
        shutil.copy(rule, tmp_path / "sigma" / "rules")
    (tmp_path / "escu").mkdir()
    (tmp_path / "escu" / "detections").symlink_to(examples / "escu")
    monkeypatch.chdir(tmp_path)
    url = os.environ["HARRIER_SPARK_CONNECT"]
    for block in blocks:
        block = block.replace("sc://spark-master:15002", url).replace("/lake/native", str(lake))
        scope = {}
        quietly(lambda: exec(compile(block, "README.md", "exec"), scope))
        assert scope["result"].hits.num_rows > 0
        assert 0 < scope["frame"].count() <= scope["result"].hits.num_rows

