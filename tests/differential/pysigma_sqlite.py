#!/usr/bin/env python3
"""Differential test: Harrier's hits against pySigma's SQLite backend, rule by rule.

Each SigmaHQ Windows rule is converted by pySigma (pipelines `sysmon` and
`windows-logsources`, backend `sqlite`) and run in SQLite over the same events Harrier reads
(its own `harrier events` output, so both sides see the same fields); the hit sets are compared
with `harrier hunt`'s. Columns are `COLLATE NOCASE` (Sigma is case-insensitive), absent fields
are NULL columns, and REGEXP is Python's `re.search`.

Usage: pysigma_sqlite.py HARRIER_BINARY SHARED_DATA_DIR [--max-differing N]
Needs: pip install pysigma pysigma-backend-sqlite pysigma-pipeline-sysmon pysigma-pipeline-windows
Exits 1 when more rules differ than --max-differing; prints every difference with its class.
"""
import argparse
import collections
import json
import pathlib
import re
import sqlite3
import subprocess
import sys

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.pipelines.sysmon import sysmon_pipeline
from sigma.pipelines.windows import windows_logsource_pipeline

RULE_FOLDERS = ["rules", "rules-threat-hunting", "rules-emerging-threats"]
LOG_FOLDERS = ["evtx", "json"]


def harrier_lines(binary, *args):
    out = subprocess.run([binary, *args, "--format", "jsonl", "-q"], capture_output=True, text=True, check=False)
    return [json.loads(line) for line in out.stdout.splitlines()]


def load_events(db, binary, logs):
    rows = harrier_lines(binary, "events", *logs)
    columns = {}
    for row in rows:
        for name in row["event"]:
            columns.setdefault(name.lower(), name)
    names = sorted(columns.values(), key=str.lower)
    db.execute("CREATE TABLE logs (_source TEXT, _record INTEGER, "
               + ", ".join(f'"{name}" TEXT COLLATE NOCASE' for name in names) + ")")
    placeholders = ", ".join("?" for _ in range(len(names) + 2))
    lowered = {name.lower(): index for index, name in enumerate(names)}
    for row in rows:
        values = [None] * len(names)
        for name, value in row["event"].items():
            index = lowered[name.lower()]
            if values[index] is None:
                values[index] = text(value)
        db.execute(f"INSERT INTO logs VALUES ({placeholders})", [row["source_file"], row["record_id"], *values])
    return len(rows), set(lowered)


def text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # Harrier matches a list when any item does; items one per line come closest in SQL.
        return "\n".join(text(item) or "" for item in value)
    return str(value)


def regexp(pattern, value):
    return value is not None and re.search(pattern, value) is not None


def run_query(db, query, known_columns):
    """Runs one query; a column the events never have is added as all-NULL, as absent."""
    query = re.sub(r"^SELECT \* FROM logs", "SELECT _source, _record FROM logs", query)
    while True:
        try:
            return {(source, record) for source, record in db.execute(query)}
        except sqlite3.OperationalError as error:
            missing = re.match(r"no such column: (.+)", str(error))
            if not missing or missing.group(1).lower() in known_columns:
                raise
            db.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1)}" TEXT COLLATE NOCASE')
            known_columns.add(missing.group(1).lower())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("harrier")
    parser.add_argument("shared")
    parser.add_argument("--max-differing", type=int, default=None)
    args = parser.parse_args()
    shared = pathlib.Path(args.shared)
    logs = [str(shared / folder) for folder in LOG_FOLDERS]
    rule_dirs = [shared / "sigma" / folder for folder in RULE_FOLDERS]

    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, regexp, deterministic=True)
    events, known_columns = load_events(db, args.harrier, logs)

    harrier_hits = collections.defaultdict(set)
    rule_arguments = [argument for folder in rule_dirs for argument in ("--rules", str(folder))]
    for hit in harrier_lines(args.harrier, "hunt", *logs, *rule_arguments):
        if "type" not in hit:
            harrier_hits[hit["rule_id"]].add((hit["source_file"], hit["record_id"]))

    backend = sqliteBackend(sysmon_pipeline() + windows_logsource_pipeline())
    compared, skipped, same, differing, with_hits = 0, collections.Counter(), 0, [], 0
    for path in sorted(p for folder in rule_dirs for p in folder.rglob("*.yml")):
        source = path.read_text()
        if "product: windows" not in source:
            continue
        try:
            collection = SigmaCollection.from_yaml(source)
            queries = backend.convert(collection)
            rule_id = str(collection.rules[0].id)
            pysigma = set()
            for query in queries:
                pysigma |= run_query(db, query, known_columns)
        except Exception as error:  # a rule pySigma or SQLite cannot run is counted, not compared
            skipped[type(error).__name__ + ": " + str(error).split("\n")[0][:90]] += 1
            continue
        compared += 1
        ours = harrier_hits.get(rule_id, set())
        with_hits += bool(ours or pysigma)
        if ours == pysigma:
            same += 1
        else:
            differing.append((path, rule_id, ours, pysigma))

    explained = [d for d in differing if is_security_4688_only(db, d[2], d[3])]
    unexplained = [d for d in differing if d not in explained]
    print(f"{events} events; {compared} rules compared ({with_hits} with hits on either side): {same} identical, {len(explained)} differ only by "
          f"Security 4688 process creations (Harrier routes process_creation rules there too; pySigma's "
          f"sysmon pipeline does not), {len(unexplained)} differ otherwise; {sum(skipped.values())} not comparable")
    for reason, count in skipped.most_common():
        print(f"  not comparable ({count}): {reason}")
    for path, rule_id, ours, pysigma in unexplained:
        only_ours, only_theirs = sorted(ours - pysigma), sorted(pysigma - ours)
        print(f"DIFF {path.relative_to(shared)} {rule_id}: harrier {len(ours)}, pysigma {len(pysigma)}; "
              f"only harrier {only_ours[:3]}; only pysigma {only_theirs[:3]}")
    if args.max_differing is not None and len(unexplained) > args.max_differing:
        sys.exit(1)


def is_security_4688_only(db, ours, pysigma):
    """Harrier's extra hits are all Security 4688 events, and pySigma has none of its own."""
    if pysigma - ours:
        return False
    for source, record in ours - pysigma:
        row = db.execute("SELECT Channel, EventID FROM logs WHERE _source=? AND _record=?", (source, record)).fetchone()
        if row is None or row[0].lower() != "security" or str(row[1]) != "4688":
            return False
    return True


if __name__ == "__main__":
    main()
