"""The partnership file's shape, declared once.

Every section, field, default and rule of the file is a pydantic model below; `problems()`
turns pydantic's errors into the messages an administrator reads (`panels[2].schedule: ...`),
one per problem, all at once. References between sections (a panel's chair, an agreement's
panels and agencies, a user's agency) are checked against the file and the service through
the validation context, so a file that names an agency the service already holds is valid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from auth.models import AGENCY_KINDS, ROLES
from auth.passwords import password_problem
from equality import population
from panels.models import BANK_HOLIDAY_POLICIES, DEFAULT_REVIEW_DAYS, REGIONS
from panels.schedule import validate_rule
from sharing.crypto import CATEGORIES
from sharing.models import ISA_STATUSES

PANEL_KINDS = ("IOM", "MAPPA", "SGV", "DIP", "MARAC", "ASB", "OTHER")
REVIEW_INTERVAL_KEYS = ("red", "amber", "green", "level1", "level2", "level3")
CRITERION_TYPES = ("bool", "int", "choice", "text")
SECTIONS = ("name", "region", "agencies", "panels", "isas", "users", "population")

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CRITERION_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _fail(message: str, where: str | None = None) -> PydanticCustomError:
    """An error whose words are ours; `where` overrides pydantic's location (list-level checks)."""
    return PydanticCustomError("partnership", "{why}", {"why": message, "where": where})


# -- field types: each says in words what it accepts -------------------------------------------

def _code(value: Any) -> str:
    code = "" if value is None else str(value)
    if not _CODE_RE.match(code):
        raise _fail(f"{code!r} must be upper-case letters, digits, - or _")
    return code


def _required_text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise _fail("required")
    return text


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _one_of(choices: tuple) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise _fail(f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value
    return check


def _whole(low: int, high: int | None, words: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if not _is_whole(value, low, high):
            raise _fail(words)
        return value
    return check


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _fail(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _time(value: Any) -> str:
    if not _TIME_RE.match(str(value)):
        raise _fail(f"{value!r} is not a time (HH:MM)")
    return str(value)


def _schedule(value: Any) -> str:
    if not value or not isinstance(value, str):
        raise _fail("required (an RFC 5545 RRULE such as FREQ=MONTHLY;BYDAY=1WE)")
    problem = validate_rule(value)
    if problem:
        raise _fail(problem)
    return value


def _email(value: Any) -> str:
    email = ("" if value is None else str(value)).strip().lower()
    if not _EMAIL_RE.match(email):
        raise _fail(f"{value!r} is not an email address")
    return email


def _days_map(keys: tuple | dict, low: int, high: int | None) -> Callable[[Any], dict]:
    words = f"keys {', '.join(keys)} with whole days"

    def check(value: Any) -> dict:
        value = value or {}
        if not isinstance(value, dict) or any(k not in keys or not _is_whole(v, low, high) for k, v in value.items()):
            raise _fail(words)
        return dict(value)
    return check


def _is_whole(value: Any, low: int, high: int | None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value and (high is None or value <= high)


def _none_as_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`check`, except that an absent value stays absent."""
    return lambda value: None if value is None else check(value)


def _listed(words: str) -> Callable[[Any], list]:
    def check(value: Any) -> list:
        if not value or not isinstance(value, list):
            raise _fail(words)
        return value
    return check


def _access(value: Any) -> str:
    if value not in ("r", "rw"):
        raise _fail(f"{value!r} must be r or rw")
    return value


Code = Annotated[str, BeforeValidator(_code)]
RequiredText = Annotated[str, BeforeValidator(_required_text)]
Text = Annotated[str, BeforeValidator(_text)]
Day = Annotated[dt.date, BeforeValidator(_date)]


def _section(model: type) -> Any:
    return Annotated[list[model], BeforeValidator(_none_as_empty_list)]


class _Spec(BaseModel):
    """Unknown fields are refused, so a misspelt setting is named rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(context: ValidationInfo, kind: str) -> set[str]:
    return (context.context or {}).get(kind, set())


# -- the sections --------------------------------------------------------------------------------

class AgencySpec(_Spec):
    code: Code
    name: RequiredText
    kind: Annotated[str, BeforeValidator(_one_of(AGENCY_KINDS))] = "other"


class Criterion(_Spec):
    """One question of a panel's referral form (CONTRACT.md "Additions": `referral_criteria`)."""

    name: str
    label: Text = ""
    type: Annotated[str, BeforeValidator(_one_of(CRITERION_TYPES))] = "bool"
    choices: list[Any] | None = None
    required: bool | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        if not _CRITERION_RE.match(str(value or "")):
            raise _fail("lower-case letters, digits or _ (a mapping with name, label, type)")
        return str(value)

    @model_validator(mode="after")
    def _choices_listed(self) -> Criterion:
        if self.type == "choice" and not self.choices:
            raise _fail("list the choices")
        return self

    def as_setting(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude_unset=True)


def _criteria(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _fail("must be a list of {name, label, type}")
    return value


class PanelSpec(_Spec):
    code: Code
    name: RequiredText
    kind: Annotated[str | None, BeforeValidator(_optional(_one_of(PANEL_KINDS)))] = None
    chair: str | None = None
    schedule: Annotated[str, BeforeValidator(_schedule)]
    time: Annotated[str, BeforeValidator(_time)] = "10:00"
    place: Text = ""
    bank_holidays: Annotated[str, BeforeValidator(_one_of(BANK_HOLIDAY_POLICIES))] = "next_working_day"
    region: Annotated[str | None, BeforeValidator(_optional(_one_of(REGIONS)))] = None
    agenda_days_before: Annotated[int, BeforeValidator(
        _whole(0, 60, "must be a whole number of days from 0 to 60"))] = 7
    review_days: Annotated[dict[str, int], BeforeValidator(_days_map(tuple(DEFAULT_REVIEW_DAYS), 1, None))] = Field(
        default_factory=dict)
    meeting_minutes: Annotated[int, BeforeValidator(
        _whole(10, 600, "a whole number of minutes from 10 to 600"))] = 120
    minutes_per_case: Annotated[int, BeforeValidator(_whole(1, 120, "a whole number of minutes from 1 to 120"))] = 10
    review_interval_days: Annotated[dict[str, int], BeforeValidator(_days_map(REVIEW_INTERVAL_KEYS, 1, 730))] = Field(
        default_factory=dict)
    inclusion_review_days: Annotated[int | None, BeforeValidator(
        _whole(1, 1000, "a whole number of days from 1 to 1000"))] = None
    referral_criteria: Annotated[list[Criterion] | None, BeforeValidator(_criteria)] = None
    retention_days_after_exit: Annotated[int | None, BeforeValidator(
        _whole(0, 36500, "a whole number of days from 0"))] = None

    @field_validator("chair")
    @classmethod
    def _chair_known(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and value not in _known(info, "agencies"):
            raise _fail(f"agency {value!r} is not in the file or the service")
        return value

    @field_validator("referral_criteria")
    @classmethod
    def _criteria_named_once(cls, value: list[Criterion] | None) -> list[Criterion] | None:
        for name, n in Counter(c.name for c in value or []).items():
            if n > 1:
                raise _fail(f"{name} appears twice")
        return value

    @property
    def panel_kind(self) -> str:
        """The kind given, or the code's prefix when it names one (IOM-NORTH is an IOM panel)."""
        prefix = self.code.split("-")[0]
        return self.kind or (prefix if prefix in PANEL_KINDS else "OTHER")


Access = Annotated[str, BeforeValidator(_access)]


class IsaSpec(_Spec):
    ref: RequiredText
    title: Text = ""
    purpose: Text = ""
    panels: Annotated[list[str], BeforeValidator(_listed("list the panels this agreement covers"))]
    starts: Day
    expires: Day
    review: Annotated[dt.date | None, BeforeValidator(lambda v: _date(v) if v else None)] = None
    status: Annotated[str | None, BeforeValidator(_optional(_one_of(ISA_STATUSES)))] = None
    signatories: Annotated[str, BeforeValidator(_signatories)] = ""
    lawful_basis: Text = ""
    grants: Annotated[dict[str, dict[str, Access]], BeforeValidator(lambda v: v or {})] = Field(default_factory=dict)

    @field_validator("panels")
    @classmethod
    def _panels_known(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = _known(info, "panels")
        for j, code in enumerate(value):
            if code not in known:
                raise _fail(f"panel {code!r} is not in the file or the service", where=f"[{j}]")
        return value

    @field_validator("grants")
    @classmethod
    def _grants_known(cls, value: dict[str, dict[str, str]], info: ValidationInfo) -> dict[str, dict[str, str]]:
        known = _known(info, "agencies")
        for agency, cats in value.items():
            if agency not in known:
                raise _fail(f"agency {agency!r} is not in the file or the service", where=agency)
            for cat in cats:
                if cat not in CATEGORIES:
                    raise _fail(f"unknown category (one of {', '.join(CATEGORIES)})", where=f"{agency}.{cat}")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> IsaSpec:
        if self.expires <= self.starts:
            raise _fail("must be after the start date", where="expires")
        if self.review and not self.starts <= self.review <= self.expires:
            raise _fail("must fall between the start and expiry dates", where="review")
        return self


def _signatories(value: Any) -> str:
    """One signatory a line, whether the file gives a list or a single string."""
    if not value:
        return ""
    if isinstance(value, str):
        return value.strip()
    return "\n".join(str(v).strip() for v in value)


class UserSpec(_Spec):
    email: Annotated[str, BeforeValidator(_email)]
    name: RequiredText
    agency: str
    roles: Annotated[list[Annotated[str, BeforeValidator(_one_of(ROLES))]], BeforeValidator(
        _listed(f"list one or more of {', '.join(ROLES)}"))]
    password: Annotated[str | None, BeforeValidator(_optional(str))] = None

    @field_validator("agency", mode="before")
    @classmethod
    def _agency_known(cls, value: Any, info: ValidationInfo) -> str:
        if value not in _known(info, "agencies"):
            raise _fail(f"agency {value!r} is not in the file or the service")
        return value

    @model_validator(mode="after")
    def _password_acceptable(self) -> UserSpec:
        if self.password is not None:
            problem = password_problem(self.password, email=self.email, name=self.name)
            if problem:
                raise _fail(problem, where="password")
        return self


class PartnershipFile(_Spec):
    """The whole file: `partnership load FILE` (CONTRACT.md "Partnership file")."""

    name: Text = ""
    region: Annotated[str, BeforeValidator(_one_of(REGIONS))] = "england_and_wales"
    agencies: _section(AgencySpec) = Field(default_factory=list)
    panels: _section(PanelSpec) = Field(default_factory=list)
    isas: _section(IsaSpec) = Field(default_factory=list)
    users: _section(UserSpec) = Field(default_factory=list)
    population: Any = None  # its own rules: equality.population.problems

    @field_validator("agencies", "panels", "isas", "users")
    @classmethod
    def _each_named_once(cls, items: list, info: ValidationInfo) -> list:
        """The second of two entries with the same key is named (a user's email, an agreement's ref...)."""
        key = UNIQUE_KEYS[info.field_name]
        seen: set = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                raise _fail(f"{value} appears twice", where=f"[{i}].{key}")
            seen.add(value)
        return items


UNIQUE_KEYS = {"agencies": "code", "panels": "code", "isas": "ref", "users": "email"}


# -- from pydantic's errors to an administrator's list --------------------------------------------

_WORDS = {
    "missing": "required",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}


def _where(loc: tuple, override: str | None) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if override:
        path += override if override.startswith("[") else (f".{override}" if path else override)
    return path


def _message(error: dict) -> str:
    if error["type"] == "partnership":
        return error["ctx"]["why"]
    if error["type"] == "extra_forbidden":
        return "unknown section" if len(error["loc"]) == 1 else "unknown field"
    return _WORDS.get(error["type"], error["msg"])


def references(data: dict[str, Any], agencies: set[str], panels: set[str]) -> dict[str, set[str]]:
    """What a reference may name: the codes the service holds and those the file declares."""
    def declared(section: str, key: str) -> set[str]:
        items = data.get(section)
        return {str(x.get(key)) for x in items if isinstance(x, dict)} if isinstance(items, list) else set()
    return {"agencies": agencies | declared("agencies", "code"), "panels": panels | declared("panels", "code")}


def parse(data: dict[str, Any], agencies: set[str], panels: set[str]) -> tuple[PartnershipFile | None, list[str]]:
    """The file as models, or None and every problem in it, each prefixed with where it is."""
    try:
        parsed, problems = PartnershipFile.model_validate(data, context=references(data, agencies, panels)), []
    except ValidationError as exc:
        parsed = None
        problems = [f"{_where(e['loc'], (e.get('ctx') or {}).get('where'))}: {_message(e)}" for e in exc.errors()]
    problems += population.problems(data.get("population"))
    return (None if problems else parsed), list(dict.fromkeys(problems))
