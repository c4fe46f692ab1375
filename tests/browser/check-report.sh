#!/usr/bin/env bash
# The HTML report in a real browser: Debian's Chromium, headless, driven by playwright-core.
# Two reports: a hunt of SigmaHQ and ESCU over the shared EVTX samples, and a load test of
# 100,000+ hits (three catch-all rules over all the shared data). Screenshots and reports are
# left in target/report-check/ to look at.
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
