"""The Python package against the command line: the same hunt gives the same results.

Needs ``../shared`` beside the repository (skipped with a message without it, failed when
``HARRIER_REQUIRE_SHARED=1``) and the release command line (``cargo build --release``, or
``HARRIER_BIN``).
"""

import collections
import json
import os
import signal
import subprocess
import threading
import time
import warnings

import pyarrow as pa
import pytest

import harrier

from shared_paths import BIN, DATA, ESCU, REPO, SHARED, SIGMA


def need_shared():
    if SHARED.is_dir():
        return
    message = f"{SHARED} not found: the shared test data sits beside the repository"
    if os.environ.get("HARRIER_REQUIRE_SHARED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def all_rules():
    need_shared()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", harrier.HarrierWarning)
        return harrier.RuleSet(SIGMA + [ESCU])


@pytest.fixture(scope="module")
def all_hunt(all_rules):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", harrier.HarrierWarning)
        return harrier.hunt(DATA, all_rules)


@pytest.fixture(scope="module")
def cli_lines():
    need_shared()
    assert BIN.exists(), f"{BIN} not built: cargo build --release (or set HARRIER_BIN)"
    args = [str(BIN), "-q", "hunt", "--format", "jsonl", str(DATA)]
    for path in SIGMA + [ESCU]:
        args += ["-r", str(path)]
    output = subprocess.run(args, capture_output=True, check=True, text=True).stdout
    return [json.loads(line) for line in output.splitlines()]


def test_hits_and_rows_are_the_command_lines(all_hunt, cli_lines):
    cli_hits = collections.Counter(
        (line["rule_id"], line["source_file"], line["record_id"]) for line in cli_lines if "type" not in line
    )
    hits = all_hunt.hits.select(["rule_id", "source_file", "record_id"]).to_pylist()
    ours = collections.Counter((hit["rule_id"], hit["source_file"], hit["record_id"]) for hit in hits)
    assert len(hits) > 1000, "a hunt of the shared data finds many hits"
    assert ours == cli_hits

    cli_rows = [(line["rule_id"], json.dumps(line["row"], sort_keys=True)) for line in cli_lines if line.get("type") == "row"]
    rows = [(row["rule_id"], json.dumps(json.loads(row["row"]), sort_keys=True)) for row in all_hunt.rows.to_pylist()]
    assert len(rows) > 10
    assert rows == cli_rows

    cli_correlations = [line["rule_id"] for line in cli_lines if line.get("type") == "correlation"]
    assert all_hunt.correlations.column("rule_id").to_pylist() == cli_correlations


def test_columns_have_their_documented_types(all_hunt):
    schema = all_hunt.hits.schema
    strings = pa.list_(pa.string())
    expected = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "rule_id": pa.string(),
        "rule_title": pa.string(),
        "level": pa.string(),
        "techniques": strings,
        "technique_names": strings,
        "tactics": strings,
        "false_positives": strings,
        "rule_file": pa.string(),
        "source_file": pa.string(),
        "record_id": pa.int64(),
        "computer": pa.string(),
        "channel": pa.string(),
        "event_id": pa.int64(),
        "event": pa.string(),
    }
    assert {name: schema.field(name).type for name in expected} == expected
    first = all_hunt.hits.slice(0, 1).to_pylist()[0]
    assert json.loads(first["event"])["EventID"] == first["event_id"]
    assert all_hunt.summary["events"] > 40_000
    assert all_hunt.summary["hits"] == all_hunt.hits.num_rows


def test_to_pandas_gives_a_dataframe_of_the_hits(all_hunt):
    frame = all_hunt.to_pandas()
    assert len(frame) == all_hunt.hits.num_rows
    assert str(frame["timestamp"].dtype).startswith("datetime64[")
    assert frame["timestamp"].dt.tz is not None
    assert list(frame["techniques"].iloc[0]) == all_hunt.hits.column("techniques")[0].as_py()


def test_polars_reads_the_tables_directly(all_hunt):
    polars = pytest.importorskip("polars")  # CI installs it
    frame = polars.DataFrame(all_hunt.hits)  # through the Arrow PyCapsule stream interface
    assert frame.height == all_hunt.hits.num_rows
    assert frame.schema["timestamp"] == polars.Datetime("us", "UTC")
    assert frame.schema["techniques"] == polars.List(polars.String)


def test_a_rule_set_reused_gives_what_fresh_ones_give(all_rules):
    logs = DATA / "evtx"
    first = harrier.hunt(logs, all_rules).hits
    second = harrier.hunt(logs, all_rules).hits
    fresh = harrier.hunt(logs, harrier.RuleSet(SIGMA + [ESCU])).hits
    assert first.num_rows > 0
    assert first.equals(second)
    assert first.equals(fresh)


def test_fields_become_columns_and_windows_cut(all_rules):
    logs = DATA / "evtx"
    result = harrier.hunt(logs, all_rules, fields=["Image", "CommandLine"])
    assert result.hits.schema.field("Image").type == pa.string()
    images = [image for image in result.hits.column("Image").to_pylist() if image]
    assert images and all(isinstance(image, str) for image in images)
    times = sorted(time for time in result.hits.column("timestamp").to_pylist() if time)
    middle = times[len(times) // 2]
    later = harrier.hunt(logs, all_rules, since=middle)
    assert 0 < later.hits.num_rows < result.hits.num_rows
    naive = middle.replace(tzinfo=None)
    assert harrier.hunt(logs, all_rules, since=naive).hits.num_rows == later.hits.num_rows


def test_hit_batches_give_the_same_hits(all_rules):
    logs = DATA / "evtx"
    batches = harrier.hunt_batches(logs, all_rules)
    joined = pa.Table.from_batches(list(batches))
    assert joined.equals(harrier.hunt(logs, all_rules).hits)
    assert batches.summary["events"] > 0


def test_the_rules_table_and_failures(all_rules):
    table = all_rules.rules
    assert table.num_rows > 3000
    outcomes = collections.Counter(table.column("outcome").to_pylist())
    assert outcomes["loaded"] > 2000
    assert set(table.column("language").to_pylist()) == {"sigma", "spl"}
    assert len(all_rules) == outcomes["loaded"]


def test_events_search_and_convert():
    need_shared()
    logs = DATA / "evtx"
    events = harrier.events(logs, where=["EventID=1"], fields=["Image"])
    assert events.num_rows > 0
    assert set(events.column("_event_id").to_pylist()) == {1}
    assert "Image" in events.schema.names and "CommandLine" not in events.schema.names

    counts = harrier.search("index=* EventCode=1 | stats count by Computer", logs)
    assert counts.schema.field("count").type == pa.int64()
    assert sum(counts.column("count").to_pylist()) == events.num_rows

    queries = harrier.convert(SIGMA[0] / "windows" / "process_creation", "lucene", mapping="helk")
    converted = [query for query in queries.column("query").to_pylist() if query]
    assert len(converted) > 100
    assert queries.column("refusal").null_count < queries.num_rows


def test_bad_inputs_raise_or_warn(tmp_path):
    need_shared()
    rules = harrier.RuleSet(SIGMA[0] / "windows" / "process_creation")

    with pytest.raises(harrier.InputError) as error:
        harrier.hunt(tmp_path / "missing.evtx", rules)
    assert error.value.path.endswith("missing.evtx")

    evtx = next((DATA / "evtx").rglob("*.evtx"))
    corrupt = tmp_path / "corrupt.evtx"
    data = bytearray(evtx.read_bytes())
    data[4096 + 512 : 4096 + 4096] = bytes(4096 - 512)  # the first chunk's records, zeroed
    corrupt.write_bytes(bytes(data))
    with pytest.warns(harrier.HarrierWarning, match="problems reading the logs"):
        result = harrier.hunt([corrupt, DATA / "evtx"], rules)
    assert result.summary["problems"]
    assert result.hits.num_rows > 0

    bad_rule = tmp_path / "bad.yml"
    bad_rule.write_text("title: broken\ndetection: [unclosed\n")
    good = next((SIGMA[0] / "windows" / "process_creation").glob("*.yml"))
    with pytest.warns(harrier.HarrierWarning, match="did not load"):
        mixed = harrier.RuleSet([good, bad_rule])
    assert [entry["file"].endswith("bad.yml") for entry in mixed.failed] == [True]
    assert len(mixed) == 1
    harrier.hunt(DATA / "evtx", mixed)

    with pytest.raises(harrier.RuleError) as error:
        harrier.RuleSet(bad_rule)
    assert error.value.file.endswith("bad.yml") and error.value.line == 3, "the line of the YAML error"

    with pytest.raises(TypeError, match="unexpected keyword argument"):
        harrier.hunt(DATA / "evtx", rules, treads=2)
    with pytest.raises(ValueError, match="not a time"):
        harrier.hunt(DATA / "evtx", rules, since="yesterday")


def test_help_teaches_the_api():
    assert "Runs rules over logs" in harrier.hunt.__doc__
    assert "paths, rules, *, since=None" in harrier.hunt.__text_signature__
    assert "compiled once" in harrier.RuleSet.__doc__


def test_the_gil_is_released_while_harrier_works(all_rules):
    done = threading.Event()

    def work():
        harrier.hunt(DATA / "evtx", all_rules)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
    worker.join()
    # A hunt holding the GIL would leave this thread a few ticks, not some millions a second.
    assert ticks > 100_000, ticks


def test_ctrl_c_stops_a_running_hunt_promptly():
    need_shared()
    script = (
        "import harrier, signal\n"
        # Python's own Ctrl-C handler, even when this process was started with SIGINT ignored
        # (as a background job of a non-interactive shell is).
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"rules = harrier.RuleSet({[str(path) for path in SIGMA]!r})\n"
        "print('ready', flush=True)\n"
        "try:\n"
        f"    while True: harrier.hunt({str(DATA)!r}, rules)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    child = subprocess.Popen(["python3", "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    output, _ = child.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert output.strip() == "interrupted"
    assert waited < 2.0, f"the hunt took {waited:.1f} s to stop"


def test_the_readmes_python_examples_run(monkeypatch, capsys):
    readme = (REPO / "README.md").read_text()
    blocks = [block.split("```", 1)[0] for block in readme.split("```python\n")[1:]]
    # The Spark examples need a cluster: test_spark.py runs them.
    blocks = [block for block in blocks if "harrier.spark" not in block]
    assert blocks, "the README has Python examples"
    monkeypatch.chdir(REPO)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert "SMTP Connection From a Process in a User-Writable Folder" in capsys.readouterr().out
