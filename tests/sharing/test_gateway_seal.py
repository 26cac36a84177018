"""The gateway is the only code that decrypts case data."""

from __future__ import annotations

import pathlib
import re

import pytest

from core.extensions import db

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Modules that may open the seal, and why (each use names its purpose in the code).
MAY_UNSEAL = {
    "sharing/gateway.py": "the gateway itself",
    "sharing/blind_index.py": "keyed indexes of an identity being written",
    "duplicates/candidates.py": "the duplicate check, within the analyst's scope",
    "duplicates/merging.py": "merging and unmerging one person's records",
    "duplicates/overlaps.py": "names of people on several of the viewer's panels",
    "cohort/queries.py": "search within the viewer's identity panels",
    "exchange/importing.py": "an import compared with people the importer may see",
    "cohort/services.py": "a write compared with what is held, after its grant is checked",
    "cohort/routes.py": "the edit form's fields the user may write",
    "panels/kpis.py": "indicators over panels whose category the viewer reads",
    "equality/monitoring.py": "aggregate equality counts over a panel whose identity the viewer reads",
    "panels/meetings.py": "a decision applied with its recorder's grants",
    "panels/inclusion.py": "an inclusion decision's reason carried into the exit it decides (grant checked)",
    "search/queries.py": "scoring a bounded set of candidates the viewer may see (people search)",
    "search/index.py": "the name-word tokens of people being indexed (kept, like the blind indexes, as keyed hashes)",
    "lifecycle/subject_access.py": "a subject access report for the data protection officer",
    "lifecycle/rectification.py": "a correction the data protection officer makes, with a reason",
}


def test_reading_case_data_around_the_gateway_fails(app, partnership):
    from cohort import services
    from cohort.models import Nominal
    from sharing import gateway

    services.create_nominal(given_name="Sealed", family_name="Person")
    db.session.commit()
    db.session.expire_all()
    nominal = db.session.execute(db.select(Nominal)).scalar_one()

    # compiled as if it lived in the product (a read from a test file itself is let through)
    product_code = compile("def read(n):\n    return n.given_name\n", str(ROOT / "cohort" / "x.py"), "exec")
    scope: dict = {}
    exec(product_code, scope)  # noqa: S102
    with pytest.raises(gateway.SealedRead):
        scope["read"](nominal)
    with gateway.unsealed("test"):
        assert scope["read"](nominal) == "Sealed"


def test_only_the_listed_modules_open_the_seal():
    users = set()
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("tests/", ".venv/", "bench/", "node_modules/", "migrations/")):
            continue
        if re.search(r"\bunseal(ed|ing)\(", path.read_text()):
            users.add(rel)
    assert sorted(users - set(MAY_UNSEAL)) == [], "a new module opens the seal: justify it in MAY_UNSEAL"
