"""Loading the partnership file: agencies, panels, agreements and users, validated as a whole.

An invalid file names every problem (`panels[2].schedule: ...`) and writes nothing;
loading the same file twice changes nothing (every record is upserted by its key and only
changed attributes are written). The file's shape is declared once, in `partnership.schema`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auth.models import Agency, User
from auth.passwords import hash_password, verify_password
from auth.services import shut_out
from core.extensions import db
from equality import population
from panels.models import DEFAULT_REVIEW_DAYS, Panel
from panels.services import ensure_meetings
from partnership.schema import IsaSpec, PanelSpec, PartnershipFile, UserSpec, parse
from sharing.models import Isa, IsaGrant


class PartnershipError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class LoadResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def bump(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        if not self.changed:
            return "No changes: the database already matches the file."
        parts = [f"created {n} {k}" for k, n in sorted(self.created.items())]
        parts += [f"updated {n} {k}" for k, n in sorted(self.updated.items())]
        return "Partnership loaded: " + ", ".join(parts) + "."


def read_file(path: str | Path) -> dict[str, Any]:
    """The file's mapping, or a PartnershipError saying why it cannot be read as one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PartnershipError([f"{path}: cannot read the file ({exc.__class__.__name__})"]) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PartnershipError([f"{path}: not valid YAML or JSON: {str(exc).splitlines()[0]}"]) from exc
    if not isinstance(data, dict):
        raise PartnershipError([f"{path}: the file must be a mapping with agencies, panels, isas and users"])
    return data


def validate(data: dict[str, Any]) -> list[str]:
    """Every problem in the file, each prefixed with where it is."""
    return _parse(data)[1]


def _parse(data: dict[str, Any]) -> tuple[PartnershipFile | None, list[str]]:
    agencies = set(db.session.execute(db.select(Agency.code)).scalars())
    panels = set(db.session.execute(db.select(Panel.code)).scalars())
    return parse(data, agencies, panels)


def _set(obj: Any, **values: Any) -> bool:
    """Assign only what differs; report whether anything did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def load(data: dict[str, Any]) -> LoadResult:
    """Validate then upsert; the caller commits. Raises PartnershipError listing every problem."""
    spec, problems = _parse(data)
    if problems or spec is None:
        raise PartnershipError(problems)
    result = LoadResult()
    agencies = _load_agencies(spec, result)
    panels = _load_panels(spec, agencies, result)
    isas = {i.ref: i for i in db.session.execute(db.select(Isa)).scalars()}
    for isa in spec.isas:
        _load_isa(isa, isas.get(isa.ref), agencies, panels, result)
    db.session.flush()
    users = {u.email: u for u in db.session.execute(db.select(User)).scalars()}
    for user in spec.users:
        _load_user(user, users.get(user.email), agencies, result)
    db.session.flush()
    if population.load(data.get("population")):
        result.bump("population baseline", False)
    for panel in panels.values():
        ensure_meetings(panel)
    return result


def load_file(path: str | Path) -> LoadResult:
    return load(read_file(path))


def _upsert(held: dict[str, Any], code: str, make: Callable[[], Any], values: dict[str, Any], kind: str,
            result: LoadResult) -> None:
    """Create the record keyed `code` or change only what differs, and count it if either happened."""
    obj = held.get(code)
    created = obj is None
    if created:
        obj = held[code] = make()
        db.session.add(obj)
    if _set(obj, **values) or created:
        result.bump(kind, created)


def _load_agencies(spec: PartnershipFile, result: LoadResult) -> dict[str, Agency]:
    agencies = {a.code: a for a in db.session.execute(db.select(Agency)).scalars()}
    for a in spec.agencies:
        _upsert(agencies, a.code, lambda a=a: Agency(code=a.code, name=a.name, kind=a.kind),
                dict(name=a.name, kind=a.kind), "agencies", result)
    db.session.flush()
    return agencies


def _panel_values(p: PanelSpec, spec: PartnershipFile, agencies: dict[str, Agency]) -> dict[str, Any]:
    return dict(
        name=p.name,
        kind=p.panel_kind,
        chair_agency_id=agencies[p.chair].id if p.chair else None,
        schedule=p.schedule,
        time=p.time,
        place=p.place,
        bank_holidays=p.bank_holidays,
        region=p.region or spec.region,
        agenda_days_before=p.agenda_days_before,
        review_days={**DEFAULT_REVIEW_DAYS, **p.review_days},
        meeting_minutes=p.meeting_minutes,
        minutes_per_case=p.minutes_per_case,
        review_interval_days=p.review_interval_days or None,
        inclusion_review_days=p.inclusion_review_days,
        referral_criteria=[c.as_setting() for c in p.referral_criteria] if p.referral_criteria else None,
        retention_days_after_exit=p.retention_days_after_exit,
    )


def _load_panels(spec: PartnershipFile, agencies: dict[str, Agency], result: LoadResult) -> dict[str, Panel]:
    panels = {p.code: p for p in db.session.execute(db.select(Panel)).scalars()}
    for p in spec.panels:
        _upsert(panels, p.code, lambda p=p: Panel(code=p.code, name=p.name, schedule=p.schedule),
                _panel_values(p, spec, agencies), "panels", result)
    db.session.flush()
    return panels


def _load_isa(spec: IsaSpec, obj: Isa | None, agencies: dict[str, Agency], panels: dict[str, Panel],
              result: LoadResult) -> None:
    created = obj is None
    if created:
        obj = Isa(ref=spec.ref, starts=spec.starts, expires=spec.expires)
        db.session.add(obj)
    changed = _set(
        obj,
        title=spec.title or spec.ref,
        purpose=spec.purpose,
        starts=spec.starts,
        expires=spec.expires,
        review=spec.review,
        # A status set in the service (suspended, ended) survives reloading a file that does not name one.
        status=spec.status or ("active" if created else obj.status),
        signatories=spec.signatories,
        lawful_basis=spec.lawful_basis,
    )
    wanted_panels = sorted(spec.panels)
    if sorted(p.code for p in obj.panels) != wanted_panels:
        obj.panels = [panels[c] for c in wanted_panels]
        changed = True
    changed = _sync_grants(obj, spec, agencies) or changed
    if changed or created:
        result.bump("agreements", created)


def _sync_grants(obj: Isa, spec: IsaSpec, agencies: dict[str, Agency]) -> bool:
    """Make the agreement's grants exactly the file's; whether anything changed."""
    wanted = {(agencies[agency].id, cat): access for agency, cats in spec.grants.items()
              for cat, access in cats.items()}
    have = {(g.agency_id, g.category): g for g in obj.grants}
    changed = False
    for key, grant in have.items():
        if key not in wanted:
            obj.grants.remove(grant)
            changed = True
    for (agency_id, cat), access in wanted.items():
        grant = have.get((agency_id, cat))
        if grant is None:
            obj.grants.append(IsaGrant(agency_id=agency_id, category=cat, access=access))
            changed = True
        elif grant.access != access:
            grant.access = access
            changed = True
    return changed


def _load_user(spec: UserSpec, obj: User | None, agencies: dict[str, Agency], result: LoadResult) -> None:
    created = obj is None
    agency_id = agencies[spec.agency].id
    if created:
        obj = User(email=spec.email, name=spec.name, agency_id=agency_id)
        db.session.add(obj)
    changed = _set(obj, name=spec.name, agency_id=agency_id)
    if obj.roles != set(spec.roles):
        obj.roles = spec.roles
        changed = True
    if spec.password is not None and not verify_password(obj.password_hash, spec.password):
        obj.password_hash = hash_password(spec.password)
        changed = True
        if not created:  # as any password change: whoever knew the old one is shut out
            shut_out(obj)
    if changed or created:
        result.bump("users", created)
