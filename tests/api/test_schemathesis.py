"""Schemathesis over the whole API: every operation in /api/v1/openapi.json, all checks.

The document is read from the app itself (WSGI), so an endpoint declared with
core.api.endpoint is fuzzed here without being listed. Each generated request is sent as
callers of different agencies and grants (police: most categories; DWP: identity and
resettlement only; the LACS coordinator; the analyst), against a seeded partnership
(tests/security/world.py: cases, meetings, agenda items, actions, a duplicate pair), on
each engine of the `app` fixture. Path ids are steered to real records most of the time
(3 requests in 4 reach one), so the checks see real answers and not only 404s.

Checks: every one Schemathesis has (not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, response_headers_conformance,
positive_data_acceptance, negative_data_rejection, missing_required_header, ignored_auth,
unsupported_method, allow_header_conformance, use_after_free, ensure_resource_availability,
...), plus no stack trace in any body. Examples per operation: API_FUZZ_EXAMPLES (default
12, on top of Schemathesis's coverage cases: about 2,000 requests per engine, a minute or two
each on this machine; set it higher for a longer hunt).
"""

from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.extensions import db
from tests.security.world import build_world

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
CALLERS = ("police", "dwp", "coord", "analyst")
TURN = itertools.count()


@pytest.fixture
def seeded(app, partnership):
    """The test world, API tokens for each caller, and the real ids by path-parameter name."""
    from auth.models import User
    from auth.tokens import create_token
    from panels.models import Panel

    build_world(partnership)
    tokens = {}
    for short in CALLERS:
        person = db.session.execute(db.select(User).filter_by(email=f"{short}@test.example")).scalar_one()
        tokens[short] = create_token(person)
    db.session.commit()
    pools = real_ids()
    pools["code"] = [p.code for p in db.session.execute(db.select(Panel)).scalars()] + ["NOPANEL"]
    return {"tokens": tokens, "pools": pools}


def real_ids() -> dict[str, list[int]]:
    """{"case_id": [ids of cases], "meeting_id": [...], ...} for every table an `<x>_id` could name."""
    pools = {}
    for table in db.metadata.sorted_tables:
        if "id" not in table.c:
            continue
        ids = list(db.session.execute(db.select(table.c.id).order_by(table.c.id).limit(50)).scalars())
        if ids:
            singular = table.name.removesuffix("s").removesuffix("ie") + ("y" if table.name.endswith("ies") else "")
            pools[f"{singular}_id"] = ids
    return pools


@pytest.fixture
def api_schema(app, seeded):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def steer(case, pools: dict) -> None:
    """Point most generated path ids at real records (only where the generated value is valid)."""
    meta = case.meta
    if meta is not None and not meta.generation.mode.is_positive:
        return
    for name, value in list((case.path_parameters or {}).items()):
        pool = pools.get(name)
        if not pool:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value % 4:
            case.path_parameters[name] = pool[value % len(pool)]
        elif isinstance(value, str) and name == "code" and len(value) % 4:
            case.path_parameters[name] = pool[len(value) % len(pool)]


def drops_the_token(case) -> bool:
    """Whether Schemathesis negated the headers (which only the bearer token lives in)."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    return header is not None and header.mode.is_negative


def no_trace(ctx, response, case) -> None:
    """No answer shows a Python traceback or an exception's name to the client."""
    text = response.text if response.content else ""
    assert "Traceback (most recent call last)" not in text and 'File "/' not in text, text[:300]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_every_caller(case, seeded):
    steer(case, seeded["pools"])
    # An operation that declares rules the schema cannot hold (core.api.endpoint(rules=...))
    # may refuse a schema-valid request with 422; every other check still applies to it.
    excluded = [positive_data_acceptance] if case.operation.definition.raw.get("x-rules") else []
    if drops_the_token(case):  # a case made to go without credentials: send it as made (401 expected)
        case.call_and_validate(additional_checks=[no_trace], excluded_checks=excluded)
        return
    # A valid request goes out as every caller (the answers differ by grant); an invalid one
    # must be refused whoever sends it, so one caller in turn is enough.
    callers = CALLERS if case.meta is None or case.meta.generation.mode.is_positive else \
        (CALLERS[next(TURN) % len(CALLERS)],)
    for short in callers:
        case.call_and_validate(headers={"Authorization": f"Bearer {seeded['tokens'][short]}"},
                               additional_checks=[no_trace], excluded_checks=excluded)
