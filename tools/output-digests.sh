#!/usr/bin/env bash
# The sha256 of what `harrier` writes for the big hunts over ../shared: run it before and after
# a change that must not alter output (a refactor) and compare the two lists.
#   tools/output-digests.sh target/release/harrier [../shared] > digests.txt
set -euo pipefail
harrier=$(realpath "$1")
shared=$(realpath "${2:-$(dirname "$0")/../../shared}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sigma=(-r "$shared/data/sigma/rules" -r "$shared/data/sigma/rules-threat-hunting"
       -r "$shared/data/sigma/rules-emerging-threats" -r "$shared/data/sigma/rules-placeholder")
rules=("${sigma[@]}" -r "$shared/escu/detections")
logs="$shared/data"
digest() { sha256sum | cut -c1-16; }
for format in jsonl csv timeline timesketch table; do
  printf 'hunt --format %-10s %s\n' "$format" "$("$harrier" hunt "$logs" "${rules[@]}" --format "$format" -q 2>/dev/null | digest)"
done
"$harrier" hunt "$logs" "${rules[@]}" --format jsonl -q --html "$work/report.html" >/dev/null 2>&1
# The report says when it was made; that line alone differs from run to run.
printf 'hunt --html               %s\n' "$(sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC/<generated>/' "$work/report.html" | digest)"
printf 'search                    %s\n' "$("$harrier" search 'EventCode=3 | stats count by Image, DestinationPort' "$logs" --format jsonl -q 2>/dev/null | digest)"
printf 'search --format table     %s\n' "$("$harrier" search 'EventCode=1 | stats count by Image' "$logs" --format table -q 2>/dev/null | digest)"
printf 'coverage LOGS            %s\n' "$("$harrier" coverage "$logs" "${rules[@]}" --format json -q 2>/dev/null | digest)"
printf 'noise                     %s\n' "$("$harrier" noise "$logs/evtx/benign" "${rules[@]}" --format json -q --write-exclusions "$work/ex.yml" 2>/dev/null | digest)"
printf 'noise --write-exclusions  %s\n' "$(digest < "$work/ex.yml")"
