"""Dependencies point one way: core <- auth <- sharing <- features, checked by import-linter
(the contract is in pyproject.toml). The imports it lists as ignored are today's debt (issue 13
pays it off); a new backward import fails here."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "Contracts: 1 kept, 0 broken" in result.stdout, result.stdout[-2000:]
