#!/usr/bin/env bash
# The HTML report and the detection catalog in a real browser: Debian's Chromium, headless,
# driven by playwright-core. Two reports: a hunt of SigmaHQ and ESCU over the shared EVTX
# samples, and a load test of 100,000+ hits (three catch-all rules over all the shared data);
# then the catalog of every SigmaHQ folder and all ESCU detections, with evidence from the
# EVTX samples. Screenshots, reports and the catalog are left in target/report-check/ to
# look at after the run.
#   tests/browser/check-report.sh HARRIER SHARED_DATA ESCU
set -euo pipefail
harrier=$(realpath "$1"); data=$(realpath "$2"); escu=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../target/report-check"
mkdir -p "$out"

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --silent)

echo "-- report of a hunt over $data/evtx"
"$harrier" hunt "$data/evtx" -r "$data/sigma/rules" -r "$escu/detections" \
  --format jsonl --html "$out/report.html" > "$out/hunt.jsonl" 2> "$out/hunt.stderr"
node "$here/report.mjs" "$out/report.html" "$out/hunt.jsonl" "$out/report.png"

echo "-- report of 100,000+ hits"
"$harrier" hunt "$data" -r "$here/load-rules" \
  --format jsonl --html "$out/load.html" > "$out/load.jsonl" 2> "$out/load.stderr"
node "$here/report.mjs" "$out/load.html" "$out/load.jsonl" "$out/load.png" --at-least 100000
rm -f "$out/load.jsonl"

echo "-- detection catalog of SigmaHQ and ESCU, with evidence from $data/evtx"
rules=(-r "$data/sigma/rules" -r "$data/sigma/rules-emerging-threats" -r "$data/sigma/rules-threat-hunting"
  -r "$data/sigma/rules-placeholder" -r "$escu/detections")
TIMEFORMAT="catalog built in %R s (wall), %U s user"
time "$harrier" catalog "${rules[@]}" --out "$out/catalog-rules-only"
time "$harrier" catalog "${rules[@]}" --logs "$data/evtx" --out "$out/catalog" 2> "$out/catalog.stderr"
"$harrier" catalog -q "${rules[@]}" --logs "$data/evtx" --format json -o "$out/catalog.json"
node "$here/catalog.mjs" "$out/catalog/index.html" "$out/catalog.json" "$out/catalog"
