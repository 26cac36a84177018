"""Soak the kill tests: run tests/faults' killed-process tests many times with random kill points.

    /work/main/.venv/bin/python -m bench.faults.soak [--runs 10] [--seed N]

Each run picks a random delay into the import and the meeting close, and a random number
of rotation batches, before SIGKILL (tests/faults/scratch.py soak_setting), and runs the
tests on SQLite, and on PostgreSQL too when TEST_DATABASE_URL names a scratch database.
A meeting close may finish before its kill; the test then checks the closed side of the
all-or-nothing invariant. Prints one line per run and exits 1 on the first failure.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ["tests/faults/test_killed_import.py", "tests/faults/test_killed_rotation.py",
         "tests/faults/test_killed_close.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for n in range(1, args.runs + 1):
        settings = {
            "FAULTS_IMPORT_DELAY": f"{rng.uniform(0.0, 1.0):.2f}",
            "FAULTS_CLOSE_DELAY": f"{rng.uniform(0.0, 4.0):.2f}",
            "FAULTS_ROTATE_BATCHES": str(rng.randint(1, 8)),
        }
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", *TESTS],
                              cwd=ROOT, env={**os.environ, **settings}, capture_output=True, text=True)
        line = " ".join(f"{k.removeprefix('FAULTS_').lower()}={v}" for k, v in settings.items())
        print(f"run {n}: {line}: {'ok' if proc.returncode == 0 else 'FAILED'} in {time.perf_counter() - started:.0f}s",
              flush=True)
        if proc.returncode != 0:
            print(proc.stdout[-5000:], proc.stderr[-2000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
