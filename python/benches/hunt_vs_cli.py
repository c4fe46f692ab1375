"""Benchmark (not a test): a hunt from Python into a DataFrame against the command line.

Times `harrier.hunt(DATA, SIGMA).to_pandas()` (rule loading included, from the rule cache as
the command line's is) and `harrier hunt DATA -r SIGMA... --format jsonl > /dev/null`, in
alternation, and prints each run and the medians.

    python3 python/benches/hunt_vs_cli.py [RUNS]
"""

import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import harrier

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
SIGMA = [DATA / "sigma" / name for name in ("rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder")]
BIN = REPO / "target" / "release" / "harrier"


def command_line() -> float:
    args = [str(BIN), "-q", "hunt", str(DATA), "--format", "jsonl"] + [arg for path in SIGMA for arg in ("-r", str(path))]
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def python() -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", harrier.HarrierWarning)
        frame = harrier.hunt(DATA, harrier.RuleSet(SIGMA)).to_pandas()
    elapsed = time.perf_counter() - start
    assert len(frame) > 1000
    return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    command_line(), python()  # warm the page cache and the rule cache
    times = {"command line": [], "python": []}
    for _ in range(runs):
        times["command line"].append(command_line())
        times["python"].append(python())
    for name, seconds in times.items():
        print(f"{name:>12}: median {statistics.median(seconds):.2f} s  ({', '.join(f'{s:.2f}' for s in seconds)})")
    ratio = statistics.median(times["python"]) / statistics.median(times["command line"])
    print(f"python / command line: {ratio:.2f}")


if __name__ == "__main__":
    main()
