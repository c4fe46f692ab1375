"""Runs the example notebooks headless, as a reader would, and fails when a cell errors.

Each notebook ends with a cell of checks (asserts) on what it showed, so a wrong output fails
too. The executed copies (outputs and plots) are written to target/notebooks/ for a look.

    python3 tests/notebooks/run.py [NOTEBOOK...]
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "examples" / "notebooks"
OUT = REPO / "target" / "notebooks"


def run(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
        ok = True
    except CellExecutionError as error:
        print(f"{path.name}: a cell failed:\n{error}", file=sys.stderr)
        ok = False
    OUT.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, OUT / path.name)
    return ok


def main() -> int:
    paths = [Path(arg) for arg in sys.argv[1:]] or sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = [path.name for path in paths if not run(path)]
    for path in paths:
        print(f"{path.name}: {'FAILED' if path.name in failed else 'ran, its checks hold'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
