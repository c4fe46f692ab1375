"""Where the tests find the repository, the shared data beside it and the release command line."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
SIGMA = [DATA / "sigma" / name for name in ("rules", "rules-threat-hunting", "rules-emerging-threats", "rules-placeholder")]
ESCU = SHARED / "escu" / "detections"
BIN = Path(os.environ.get("HARRIER_BIN", REPO / "target" / "release" / "harrier"))
