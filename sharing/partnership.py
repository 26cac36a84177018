"""The partnership file: agencies, panels, agreements and users, validated as a whole.

An invalid file names every problem (`panels[2].schedule: ...`) and writes nothing;
loading the same file twice changes nothing (every record is upserted by its key and only
changed attributes are written).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auth.models import AGENCY_KINDS, ROLES, Agency, User
from core.extensions import db
from equality import population
from panels.models import BANK_HOLIDAY_POLICIES, DEFAULT_REVIEW_DAYS, REGIONS, Panel
from sharing.crypto import CATEGORIES
from sharing.models import ISA_STATUSES, Isa, IsaGrant

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
PANEL_KINDS = ("IOM", "MAPPA", "SGV", "DIP", "MARAC", "ASB", "OTHER")


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


def _date(value, where: str, problems: list[str]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (use YYYY-MM-DD)")
        return None


def _rule_problem(rule: str) -> str | None:
    try:
        from panels.schedule import validate_rule
    except ImportError:  # pragma: no cover - schedule module is part of the product
        validate_rule = None
    if validate_rule is not None:
        return validate_rule(rule)
    from dateutil.rrule import rrulestr

    try:
        rrulestr(rule, dtstart=dt.datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        return f"not a valid RRULE: {exc}"
    return None


REVIEW_INTERVAL_KEYS = ("red", "amber", "green", "level1", "level2", "level3")
CRITERION_TYPES = ("bool", "int", "choice", "text")


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _criteria_problems(criteria, where: str) -> list[str]:
    if not isinstance(criteria, list):
        return [f"{where}: must be a list of {{name, label, type}}"]
    out, names = [], set()
    for j, c in enumerate(criteria):
        cw = f"{where}[{j}]"
        if not isinstance(c, dict) or not re.match(r"^[a-z][a-z0-9_]{0,39}$", str(c.get("name") or "")):
            out.append(f"{cw}.name: lower-case letters, digits or _ (a mapping with name, label, type)")
            continue
        if c["name"] in names:
            out.append(f"{cw}.name: {c['name']} appears twice")
        names.add(c["name"])
        if c.get("type", "bool") not in CRITERION_TYPES:
            out.append(f"{cw}.type: {c.get('type')!r} is not one of {', '.join(CRITERION_TYPES)}")
        if c.get("type") == "choice" and not (isinstance(c.get("choices"), list) and c["choices"]):
            out.append(f"{cw}.choices: list the choices")
    return out


def meeting_setting_problems(p: dict, where: str) -> list[str]:
    """Problems in a panel's meeting settings (CONTRACT.md "Additions")."""
    out = []
    if not _whole(p.get("meeting_minutes", 120), 10, 600):
        out.append(f"{where}.meeting_minutes: a whole number of minutes from 10 to 600")
    if not _whole(p.get("minutes_per_case", 10), 1, 120):
        out.append(f"{where}.minutes_per_case: a whole number of minutes from 1 to 120")
    intervals = p.get("review_interval_days") or {}
    if not isinstance(intervals, dict) or any(k not in REVIEW_INTERVAL_KEYS or not _whole(v, 1, 730)
                                              for k, v in intervals.items()):
        out.append(f"{where}.review_interval_days: keys {', '.join(REVIEW_INTERVAL_KEYS)} with whole days")
    if p.get("inclusion_review_days") is not None and not _whole(p["inclusion_review_days"], 1, 1000):
        out.append(f"{where}.inclusion_review_days: a whole number of days from 1 to 1000")
    if p.get("referral_criteria") is not None:
        out += _criteria_problems(p["referral_criteria"], f"{where}.referral_criteria")
    return out


def meeting_settings(p: dict) -> dict[str, Any]:
    """A valid panel entry's meeting settings as Panel attributes."""
    return dict(
        meeting_minutes=int(p.get("meeting_minutes", 120)),
        minutes_per_case=int(p.get("minutes_per_case", 10)),
        review_interval_days=dict(p["review_interval_days"]) if p.get("review_interval_days") else None,
        inclusion_review_days=p.get("inclusion_review_days"),
        referral_criteria=list(p["referral_criteria"]) if p.get("referral_criteria") else None,
    )


def validate(data: dict[str, Any]) -> list[str]:
    """Every problem in the file, each prefixed with where it is."""
    problems: list[str] = []
    known = set(data) - {"name", "region", "agencies", "panels", "isas", "users", "population"}
    for key in sorted(known):
        problems.append(f"{key}: unknown section")
    existing_agencies = {a for (a,) in db.session.execute(db.select(Agency.code))}
    existing_panels = {p for (p,) in db.session.execute(db.select(Panel.code))}

    def _list(name: str) -> list:
        value = data.get(name) or []
        if not isinstance(value, list):
            problems.append(f"{name}: must be a list")
            return []
        return value

    agencies, seen = set(existing_agencies), set()
    for i, a in enumerate(_list("agencies")):
        where = f"agencies[{i}]"
        if not isinstance(a, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        code = str(a.get("code") or "")
        if not CODE_RE.match(code):
            problems.append(f"{where}.code: {code!r} must be upper-case letters, digits, - or _")
        elif code in seen:
            problems.append(f"{where}.code: {code} appears twice")
        seen.add(code)
        agencies.add(code)
        if not str(a.get("name") or "").strip():
            problems.append(f"{where}.name: required")
        if a.get("kind", "other") not in AGENCY_KINDS:
            problems.append(f"{where}.kind: {a.get('kind')!r} is not one of {', '.join(AGENCY_KINDS)}")

    region = data.get("region", "england_and_wales")
    if region not in REGIONS:
        problems.append(f"region: {region!r} is not one of {', '.join(REGIONS)}")
    problems += population.problems(data.get("population"))

    panels, seen = set(existing_panels), set()
    for i, p in enumerate(_list("panels")):
        where = f"panels[{i}]"
        if not isinstance(p, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        code = str(p.get("code") or "")
        if not CODE_RE.match(code):
            problems.append(f"{where}.code: {code!r} must be upper-case letters, digits, - or _")
        elif code in seen:
            problems.append(f"{where}.code: {code} appears twice")
        seen.add(code)
        panels.add(code)
        if not str(p.get("name") or "").strip():
            problems.append(f"{where}.name: required")
        if p.get("chair") and p["chair"] not in agencies:
            problems.append(f"{where}.chair: agency {p['chair']!r} is not in the file or the service")
        rule = p.get("schedule")
        if not rule or not isinstance(rule, str):
            problems.append(f"{where}.schedule: required (an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=1WE)")
        else:
            msg = _rule_problem(rule)
            if msg:
                problems.append(f"{where}.schedule: {msg}")
        if not TIME_RE.match(str(p.get("time", "10:00"))):
            problems.append(f"{where}.time: {p.get('time')!r} is not a time (HH:MM)")
        if p.get("bank_holidays", "next_working_day") not in BANK_HOLIDAY_POLICIES:
            problems.append(f"{where}.bank_holidays: {p.get('bank_holidays')!r} is not one of "
                            f"{', '.join(BANK_HOLIDAY_POLICIES)}")
        days = p.get("agenda_days_before", 7)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
            problems.append(f"{where}.agenda_days_before: must be a whole number of days from 0 to 60")
        if p.get("kind", "OTHER") not in PANEL_KINDS:
            problems.append(f"{where}.kind: {p.get('kind')!r} is not one of {', '.join(PANEL_KINDS)}")
        if p.get("region", region) not in REGIONS:
            problems.append(f"{where}.region: {p.get('region')!r} is not one of {', '.join(REGIONS)}")
        review = p.get("review_days") or {}
        if not isinstance(review, dict) or any(
            k not in DEFAULT_REVIEW_DAYS or not isinstance(v, int) or v < 1 for k, v in review.items()
        ):
            problems.append(f"{where}.review_days: keys {', '.join(DEFAULT_REVIEW_DAYS)} with whole days")
        problems += meeting_setting_problems(p, where)
        if p.get("retention_days_after_exit") is not None and not _whole(p["retention_days_after_exit"], 0, 36500):
            problems.append(f"{where}.retention_days_after_exit: a whole number of days from 0")

    seen = set()
    for i, isa in enumerate(_list("isas")):
        where = f"isas[{i}]"
        if not isinstance(isa, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        ref = str(isa.get("ref") or "")
        if not ref:
            problems.append(f"{where}.ref: required")
        elif ref in seen:
            problems.append(f"{where}.ref: {ref} appears twice")
        seen.add(ref)
        covered = isa.get("panels") or []
        if not covered or not isinstance(covered, list):
            problems.append(f"{where}.panels: list the panels this agreement covers")
        for j, code in enumerate(covered if isinstance(covered, list) else []):
            if code not in panels:
                problems.append(f"{where}.panels[{j}]: panel {code!r} is not in the file or the service")
        starts = _date(isa.get("starts"), f"{where}.starts", problems)
        expires = _date(isa.get("expires"), f"{where}.expires", problems)
        review = _date(isa["review"], f"{where}.review", problems) if isa.get("review") else None
        if starts and expires and expires <= starts:
            problems.append(f"{where}.expires: must be after the start date")
        if review and starts and expires and not starts <= review <= expires:
            problems.append(f"{where}.review: must fall between the start and expiry dates")
        if isa.get("status", "active") not in ISA_STATUSES:
            problems.append(f"{where}.status: {isa.get('status')!r} is not one of {', '.join(ISA_STATUSES)}")
        grants = isa.get("grants") or {}
        if not isinstance(grants, dict):
            problems.append(f"{where}.grants: must map agency -> category -> r | rw")
            continue
        for agency, cats in grants.items():
            gw = f"{where}.grants.{agency}"
            if agency not in agencies:
                problems.append(f"{gw}: agency {agency!r} is not in the file or the service")
            if not isinstance(cats, dict):
                problems.append(f"{gw}: must map category -> r | rw")
                continue
            for cat, access in cats.items():
                if cat not in CATEGORIES:
                    problems.append(f"{gw}.{cat}: unknown category (one of {', '.join(CATEGORIES)})")
                if access not in ("r", "rw"):
                    problems.append(f"{gw}.{cat}: {access!r} must be r or rw")

    from auth.passwords import password_problem

    seen = set()
    for i, u in enumerate(_list("users")):
        where = f"users[{i}]"
        if not isinstance(u, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        email = str(u.get("email") or "").strip().lower()
        if not EMAIL_RE.match(email):
            problems.append(f"{where}.email: {u.get('email')!r} is not an email address")
        elif email in seen:
            problems.append(f"{where}.email: {email} appears twice")
        seen.add(email)
        if not str(u.get("name") or "").strip():
            problems.append(f"{where}.name: required")
        if u.get("agency") not in agencies:
            problems.append(f"{where}.agency: agency {u.get('agency')!r} is not in the file or the service")
        roles = u.get("roles") or []
        if not isinstance(roles, list) or not roles:
            problems.append(f"{where}.roles: list one or more of {', '.join(ROLES)}")
        else:
            for j, role in enumerate(roles):
                if role not in ROLES:
                    problems.append(f"{where}.roles[{j}]: {role!r} is not one of {', '.join(ROLES)}")
        if u.get("password") is not None:
            msg = password_problem(str(u["password"]), email=email, name=str(u.get("name") or ""))
            if msg:
                problems.append(f"{where}.password: {msg}")
    return problems


def _set(obj, **values) -> bool:
    """Assign only what differs; report whether anything did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _signatories(value) -> str:
    """One signatory a line, whether the file gives a list or a single string."""
    if not value:
        return ""
    if isinstance(value, str):
        return value.strip()
    return "\n".join(str(v).strip() for v in value)


def load(data: dict[str, Any]) -> LoadResult:
    """Validate then upsert; the caller commits. Raises PartnershipError listing every problem."""
    problems = validate(data)
    if problems:
        raise PartnershipError(problems)
    result = LoadResult()
    region = data.get("region", "england_and_wales")

    agencies = {a.code: a for a in db.session.execute(db.select(Agency)).scalars()}
    for a in data.get("agencies") or []:
        obj = agencies.get(a["code"])
        created = obj is None
        if created:
            obj = agencies[a["code"]] = Agency(code=a["code"], name=a["name"], kind=a.get("kind", "other"))
            db.session.add(obj)
        if _set(obj, name=a["name"], kind=a.get("kind", "other")) or created:
            result.bump("agencies", created)
    db.session.flush()

    panels = {p.code: p for p in db.session.execute(db.select(Panel)).scalars()}
    for p in data.get("panels") or []:
        obj = panels.get(p["code"])
        created = obj is None
        if created:
            obj = panels[p["code"]] = Panel(code=p["code"], name=p["name"], schedule=p["schedule"])
            db.session.add(obj)
        values = dict(
            name=p["name"],
            kind=p.get("kind", p["code"].split("-")[0] if p["code"].split("-")[0] in PANEL_KINDS else "OTHER"),
            chair_agency_id=agencies[p["chair"]].id if p.get("chair") else None,
            schedule=p["schedule"],
            time=str(p.get("time", "10:00")),
            place=str(p.get("place", "")),
            bank_holidays=p.get("bank_holidays", "next_working_day"),
            region=p.get("region", region),
            agenda_days_before=int(p.get("agenda_days_before", 7)),
            review_days={**DEFAULT_REVIEW_DAYS, **(p.get("review_days") or {})},
            **meeting_settings(p),
            retention_days_after_exit=p.get("retention_days_after_exit"),
        )
        if _set(obj, **values) or created:
            result.bump("panels", created)
    db.session.flush()

    isas = {i.ref: i for i in db.session.execute(db.select(Isa)).scalars()}
    for spec in data.get("isas") or []:
        obj = isas.get(spec["ref"])
        created = obj is None
        if created:
            obj = Isa(ref=spec["ref"], starts=dt.date.fromisoformat(str(spec["starts"])),
                      expires=dt.date.fromisoformat(str(spec["expires"])))
            db.session.add(obj)
        changed = _set(
            obj,
            title=str(spec.get("title", spec["ref"])),
            purpose=str(spec.get("purpose", "")),
            starts=dt.date.fromisoformat(str(spec["starts"])),
            expires=dt.date.fromisoformat(str(spec["expires"])),
            review=dt.date.fromisoformat(str(spec["review"])) if spec.get("review") else None,
            # A status set in the service (suspended, ended) survives reloading a file that does not name one.
            status=spec.get("status", "active" if created else obj.status),
            signatories=_signatories(spec.get("signatories")),
            lawful_basis=str(spec.get("lawful_basis", "")),
        )
        wanted_panels = sorted(spec["panels"])
        if sorted(p.code for p in obj.panels) != wanted_panels:
            obj.panels = [panels[c] for c in wanted_panels]
            changed = True
        wanted = {
            (agencies[agency].id, cat): access
            for agency, cats in (spec.get("grants") or {}).items()
            for cat, access in cats.items()
        }
        have = {(g.agency_id, g.category): g for g in obj.grants}
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
        if changed or created:
            result.bump("agreements", created)
    db.session.flush()

    from auth.passwords import hash_password, verify_password
    from auth.services import shut_out

    users = {u.email: u for u in db.session.execute(db.select(User)).scalars()}
    for spec in data.get("users") or []:
        email = spec["email"].strip().lower()
        obj = users.get(email)
        created = obj is None
        if created:
            obj = User(email=email, name=spec["name"], agency_id=agencies[spec["agency"]].id)
            db.session.add(obj)
        changed = _set(obj, name=spec["name"], agency_id=agencies[spec["agency"]].id)
        if obj.roles != set(spec["roles"]):
            obj.roles = spec["roles"]
            changed = True
        if spec.get("password") is not None and not verify_password(obj.password_hash, str(spec["password"])):
            obj.password_hash = hash_password(str(spec["password"]))
            changed = True
            if not created:  # as any password change: whoever knew the old one is shut out
                shut_out(obj)
        if changed or created:
            result.bump("users", created)
    db.session.flush()

    if population.load(data.get("population")):
        result.bump("population baseline", False)
    try:
        from panels.services import ensure_meetings
    except ImportError:
        ensure_meetings = None
    if ensure_meetings is not None:
        for panel in panels.values():
            ensure_meetings(panel)
    return result


def load_file(path: str | Path) -> LoadResult:
    return load(read_file(path))
