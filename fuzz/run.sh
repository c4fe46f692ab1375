#!/usr/bin/env bash
# Fuzzes each target for a while: `cargo fuzz` (libFuzzer, nightly toolchain) when the machine
# has them, else the stable harness (`replay`: the corpus and random mutations of it).
# The corpus is seeded from the repository's examples and from ../shared (never committed).
#   fuzz/run.sh ../shared 10      # seconds per target
set -euo pipefail
# `../shared` is read from where the script is called (the repository's root in `.ci/run`).
here=$(dirname "$0")
shared=$(realpath "${1:-$here/../../shared}")
cd "$here"
seconds=${2:-10}
corpus=corpus

# Copies a list of files (one per line on stdin) into a target's corpus, as the bytes after
# `skip` bytes.
seed() { # target, skip
  mkdir -p "$corpus/$1"
  while IFS= read -r file; do
    tail -c +$(( $2 + 1 )) "$file" > "$corpus/$1/$(printf '%s' "$file" | md5sum | cut -c1-16)"
  done
}
# `head` ends the listings early: not a failure here.
set +o pipefail
# EVTX: the target adds the 8-byte magic, so the seeds start after it.
find "$shared/data/evtx" -name '*.evtx' -size -200k | sort | head -20 | seed evtx 8
{ ls ../examples/logs/*; find "$shared/data/json" -name '*.json' -size -300k | sort | head -5; } | seed log_stream 0
{ ls ../examples/rules/*.yml; find "$shared/data/sigma/rules/windows" -name '*.yml' | sort | head -40; } | seed sigma_rule 0
mkdir -p "$corpus/json_event" "$corpus/sigma_condition" "$corpus/spl"
for file in ../examples/logs/*; do head -n 1 "$file" > "$corpus/json_event/$(basename "$file")"; done
grep -rh "^    condition:" "$shared/data/sigma/rules/windows" | sort -u | head -200 | sed 's/^    condition: //' \
  | split -l 1 - "$corpus/sigma_condition/condition-"
grep -rh "^search:" "$shared/escu/detections/endpoint" | sort -u | head -100 | sed "s/^search: //; s/^'//; s/'\$//" \
  | split -l 1 - "$corpus/spl/search-"
set -o pipefail

targets=(evtx json_event log_stream sigma_rule sigma_condition spl)
if [ -z "${HARRIER_FUZZ_STABLE:-}" ] && cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
  echo "libFuzzer (cargo +nightly fuzz), $seconds s per target"
  # Built first, where a build error stops the run: the runs' output is filtered below.
  cargo +nightly fuzz build
  for target in "${targets[@]}"; do
    echo "== $target"
    cargo +nightly fuzz run "$target" "$corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -max_len=262144 -print_final_stats=1 2>&1 \
      | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==.*ERROR|SUMMARY)|panicked|Done " || true
    if [ -n "$(ls artifacts/"$target" 2>/dev/null)" ]; then
      echo "fuzz target $target found a crash: fuzz/artifacts/$target" >&2
      exit 1
    fi
  done
else
  echo "the stable harness (no nightly toolchain or cargo-fuzz here, or HARRIER_FUZZ_STABLE), $seconds s per target"
  cargo run --quiet --release --no-default-features --bin replay -- "$corpus" "$seconds"
fi
