#!/usr/bin/env python3
"""Writes crates/harrier-attack/data/enterprise-attack.tsv from the ATT&CK tables in
../shared/data/attack (MITRE ATT&CK v18.1 Enterprise): the facts Harrier needs, with MITRE's
notice. Run it again when the shared tables move to a new ATT&CK version."""
import csv
import pathlib
import sys

shared = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/attack")
out = pathlib.Path(__file__).resolve().parent.parent / "crates/harrier-attack/data/enterprise-attack.tsv"
rows = list(csv.DictReader(open(shared / "techniques.tsv"), delimiter="\t"))
with open(out, "w") as f:
    f.write("# MITRE ATT&CK Enterprise v18.1: technique ids, names, tactics, parents, status.\n")
    f.write("# (c) 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.\n")
    f.write("id\tname\ttactics\tparent\tstatus\n")
    for row in sorted(rows, key=lambda r: r["technique_id"]):
        if row["revoked"] == "true":
            status = "revoked:" + row["revoked_by"]
        elif row["deprecated"] == "true":
            status = "deprecated"
        else:
            status = "live"
        f.write("\t".join([row["technique_id"], row["name"], row["tactics"], row["parent_id"], status]) + "\n")
print(f"{len(rows)} techniques written to {out}")

# Groups and software: id and name, which Sigma tags name as attack.gNNNN and attack.sNNNN.
others = out.with_name("groups-and-software.tsv")
with open(others, "w") as f:
    f.write("# MITRE ATT&CK Enterprise v18.1 groups and software: id, name, kind.\n")
    f.write("# (c) 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.\n")
    f.write("id\tname\tkind\n")
    for table, key, kind in [("groups.tsv", "group_id", "group"), ("software.tsv", "software_id", "software")]:
        for row in sorted(csv.DictReader(open(shared / table), delimiter="\t"), key=lambda r: r[key]):
            f.write("\t".join([row[key], row["name"], kind]) + "\n")
print(f"groups and software written to {others}")
