"""`make bench`: every benchmark in turn, each printing its own figures.

The load scenario (bench/load) and the full record-linkage comparison take minutes and
need PostgreSQL / the bench-only packages (bench/requirements-bench.txt); run them by hand:
    .venv/bin/python -m bench.load.run
    .venv/bin/pip install -r bench/requirements-bench.txt && .venv/bin/python -m bench.dedupe.run
"""

from __future__ import annotations

import subprocess
import sys

BENCHES = (
    ["bench/crypto_bench.py"],
    ["-m", "bench.tracker_bench", "--runs", "20"],
    ["-m", "bench.import_bench"],
    ["-m", "bench.agenda_bench"],
    ["-m", "bench.kpi_bench"],
    ["-m", "bench.notifications_bench"],
    ["-m", "bench.dedupe.run", "--quick"],
)


def main() -> int:
    failed = 0
    for args in BENCHES:
        print(f"\n=== {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, *args]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
