"""Merging two nominals an analyst confirmed are one person, and an admin's undo.

Never automatic and never transitive: one confirmed pair, one merge. The kept nominal gets
every case (and with them their engagement, actions, needs, notes and history), the other
one's aliases and name as aliases, and any identifier or detail it was missing. Where both
have a case on the same panel both cases stay: the duplicate is exited ("merged into case
N") and stays with the merged-away record. The merged nominal becomes a pointer
(merged_into_id) without blind indexes, so look-ups and the matcher no longer find it.

`Merge.moved` records exactly what changed (case moves, exits with their previous values,
the kept record's previous ciphertexts and blind indexes) so `unmerge` can put every row
back. Ciphertexts are bound to their row, so they are stored as they were (base64), never
decrypted into the merge record.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from auth.models import User
from cohort.models import Case, CaseEvent, DuplicateCandidate, Merge, Nominal
from core import clock
from core.extensions import db
from core.labels import label
from duplicates.candidates import MERGED, OPEN, Scope, cases_by_nominal
from duplicates.keys import index_block_keys
from duplicates.matching.normalise import normalise_name
from sharing import audit
from sharing.blind_index import index_nominal
from sharing.gateway import unsealing
from sharing.policy import Policy
from sharing.pseudonym import pseudonym

# Identity and contact details filled on the kept record when it has none.
FILL_FIELDS = ("given_name", "family_name", "date_of_birth", "gender", "pnc", "cro", "nomis", "crn", "address",
               "postcode")
IDENTIFIER_LABELS = {k: label(k) for k in ("pnc", "cro", "nomis", "crn")}  # from the one label table
BLIND_INDEXES = ("bi_pnc", "bi_cro", "bi_nomis", "bi_crn", "bi_dob", "bi_given", "bi_family", "bi_given_phon",
                 "bi_family_phon")


class MergeError(Exception):
    """The merge or unmerge cannot be done; the message says why, in words for the user."""


def _b64(blob: bytes | None) -> str | None:
    return base64.b64encode(blob).decode() if blob is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None


def _event(case: Case, kind: str, user, detail: str) -> None:
    event = CaseEvent(case_id=case.id, at=clock.utcnow(), user_id=user.id if user else None, kind=kind)
    event.detail = detail
    db.session.add(event)


@unsealing("merging two records of one person")
def _merged_aliases(kept: Nominal, merged: Nominal) -> list[str]:
    """The kept record's aliases plus the other record's name and aliases, without repeats."""
    aliases = list(kept.aliases or [])
    seen = {normalise_name(a) for a in aliases} | {normalise_name(kept.full_name)}
    for name in [merged.full_name, *(merged.aliases or [])]:
        key = normalise_name(name)
        if key and key not in seen:
            aliases.append(name)
            seen.add(key)
    return aliases


def may_merge(policy: Policy, nominal_ids: list[int]) -> bool:
    """An analyst who may read the identity of both records (on any of their panels)."""
    if not policy.has_role("analyst"):
        return False
    scope = Scope.of(policy)
    cases = cases_by_nominal(nominal_ids)
    return all(scope.sees_identity(c.panel_id for c in cases.get(n, [])) for n in nominal_ids)


def _plan_cases(kept: Nominal, merged: Nominal) -> tuple[list[tuple[Case, int, int]], list[tuple[Case, Case]]]:
    """(case, from, to) moves, and (case to exit, case it merges into) for shared panels."""
    kept_cases = {c.panel_id: c for c in db.session.execute(
        db.select(Case).where(Case.nominal_id == kept.id).order_by(Case.id)).unique().scalars()}
    moves: list[tuple[Case, int, int]] = []
    exits: list[tuple[Case, Case]] = []
    for case in db.session.execute(
            db.select(Case).where(Case.nominal_id == merged.id).order_by(Case.id)).unique().scalars():
        other = kept_cases.get(case.panel_id)
        if other is None:
            moves.append((case, merged.id, kept.id))
        elif other.status == "exited" and case.status != "exited":
            # the live case is the one to keep: it moves, the kept record's exited one goes back
            moves.append((case, merged.id, kept.id))
            moves.append((other, kept.id, merged.id))
            exits.append((other, case))
        else:
            exits.append((case, other))
    return moves, exits


@unsealing("merging two records of one person")
def merge(candidate: DuplicateCandidate, keep_id: int, policy: Policy) -> Merge:
    """Confirm a pair as one person: the record `keep_id` stays, the other becomes a pointer."""
    if candidate.status != OPEN:
        raise MergeError("This pair has already been decided")
    pair = (candidate.nominal_a_id, candidate.nominal_b_id)
    if keep_id not in pair:
        raise MergeError("Choose which record to keep")
    if not may_merge(policy, list(pair)):
        raise MergeError("You may not merge these records")
    kept = db.session.get(Nominal, keep_id)
    merged = db.session.get(Nominal, pair[1] if keep_id == pair[0] else pair[0])
    if kept.merged_into_id is not None or merged.merged_into_id is not None:
        raise MergeError("One of these records has already been merged into another")
    user, now = policy.user, clock.utcnow()
    row = Merge(kept_id=kept.id, merged_id=merged.id, candidate_id=candidate.id, moved={}, at=now, by_id=user.id)
    db.session.add(row)
    db.session.flush()

    moves, exits = _plan_cases(kept, merged)
    moved: dict[str, Any] = {"cases": [], "exits": [], "kept_columns": {}, "kept_bi": {}, "merged_bi": {},
                             "filled": [], "aliases_added": 0}
    for case, src, dst in moves:
        case.nominal_id = dst
        moved["cases"].append({"id": case.id, "from": src, "to": dst})
    for case, into in exits:
        moved["exits"].append({"id": case.id, "into": into.id, "status": case.status,
                               "exited_on": case.exited_on.isoformat() if case.exited_on else None,
                               "exit_reason_enc": _b64(case.exit_reason_enc)})
        if case.status != "exited":  # an exit already recorded keeps its own date and reason
            case.status = "exited"
            case.exited_on = clock.today()
            case.exit_reason = f"merged into case {into.id}"
            case.updated_by_id = user.id

    # identity: fill what the kept record lacks; the other name and aliases become aliases
    before = {f: getattr(kept, f"{f}_enc") for f in (*FILL_FIELDS, "aliases")}
    moved["kept_bi"] = {bi: getattr(kept, bi) for bi in BLIND_INDEXES}
    for f in FILL_FIELDS:
        if getattr(kept, f) in (None, "") and getattr(merged, f) not in (None, ""):
            setattr(kept, f, getattr(merged, f))
            moved["filled"].append(f)
    aliases = _merged_aliases(kept, merged)
    if aliases != list(kept.aliases or []):
        moved["aliases_added"] = len(aliases) - len(kept.aliases or [])
        kept.aliases = aliases
    for f, blob in before.items():
        after = getattr(kept, f"{f}_enc")
        if after is not blob:
            moved["kept_columns"][f] = {"before": _b64(blob), "after": _b64(after)}
    index_nominal(kept)
    moved["merged_bi"] = {bi: getattr(merged, bi) for bi in BLIND_INDEXES}
    for bi in BLIND_INDEXES:
        setattr(merged, bi, None)
    merged.merged_into_id = kept.id
    index_block_keys(merged)  # a pointer has no blocking keys (unmerge recomputes them)
    row.moved = moved
    candidate.status = MERGED
    candidate.decided_at = now
    candidate.decided_by_id = user.id
    db.session.flush()
    _expire_links([c for c, _s, _d in moves], kept, merged)
    _record_merge(row, kept, merged, moves, exits, user)
    return row


def _expire_links(cases: list[Case], *nominals: Nominal) -> None:
    """Cases changed nominal by foreign key: reload their relationships on next access."""
    for case in cases:
        db.session.expire(case, ["nominal"])
    for nominal in nominals:
        db.session.expire(nominal, ["cases"])


def _record_merge(row: Merge, kept: Nominal, merged: Nominal, moves, exits, user) -> None:
    """History on every case touched, and the access log: one summary event, one per case."""
    moved_ids = {c.id for c, _src, dst in moves if dst == kept.id}
    exited_ids = {c.id for c, _ in exits}
    for case in db.session.execute(db.select(Case).where(Case.nominal_id == kept.id)).unique().scalars():
        if case.id in moved_ids:
            text = f"Moved from a duplicate record of the same person (merge {row.id})"
        else:
            text = f"A duplicate record of the same person was merged into this one (merge {row.id})"
        _event(case, "merged", user, text)
        audit.record("merge", user=user, panel=case.panel, nominal_id=kept.id, case_id=case.id,
                     categories=["identity", "offending"], detail=f"merge {row.id}: {text.lower()}")
    for case, into in exits:
        _event(case, "merged", user, f"Exited: merged into case {into.id} (merge {row.id})")
        audit.record("merge", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                     categories=["offending"], detail=f"merge {row.id}: exited, merged into case {into.id}")
    filled = ", ".join(row.moved["filled"]) or "none"
    audit.record("merge", user=user, nominal_id=kept.id, categories=["identity"],
                 detail=(f"merge {row.id}: nominal {merged.id} merged into nominal {kept.id}; "
                         f"cases moved: {sorted(moved_ids) or 'none'}; exited: {sorted(exited_ids) or 'none'}; "
                         f"filled: {filled}; aliases added: {row.moved['aliases_added']}"))
    db.session.flush()


def later_merge(row: Merge) -> Merge | None:
    """A later merge (not undone) touching either record: it must be undone first."""
    ids = (row.kept_id, row.merged_id)
    return db.session.execute(
        db.select(Merge).where(
            Merge.id > row.id, Merge.undone_at.is_(None),
            db.or_(Merge.kept_id.in_(ids), Merge.merged_id.in_(ids)),
        ).order_by(Merge.id).limit(1)
    ).scalar_one_or_none()


@unsealing("undoing a merge")
def unmerge(row: Merge, user) -> None:
    """Undo a merge (admin): every moved row goes back; the pair is open for review again."""
    if row.undone_at is not None:
        raise MergeError("This merge has already been undone")
    later = later_merge(row)
    if later is not None:
        raise MergeError(f"Undo merge {later.id} first: it changed the same records later")
    kept = db.session.get(Nominal, row.kept_id)
    merged = db.session.get(Nominal, row.merged_id)
    moved = row.moved or {}
    touched: list[Case] = []
    for entry in reversed(moved.get("cases", [])):
        case = db.session.get(Case, entry["id"])
        if case is not None and case.nominal_id == entry["to"]:
            case.nominal_id = entry["from"]
            touched.append(case)
    for entry in moved.get("exits", []):
        case = db.session.get(Case, entry["id"])
        if case is None or case.status != "exited":
            continue  # re-referred since the merge: leave the newer state alone
        case.status = entry["status"]
        case.exited_on = _date(entry["exited_on"])
        case.exit_reason_enc = _unb64(entry["exit_reason_enc"])
        case.updated_by_id = user.id
        if case not in touched:
            touched.append(case)
    for f, change in moved.get("kept_columns", {}).items():
        column = f"{f}_enc"
        if _b64(getattr(kept, column)) == change["after"]:  # unchanged since the merge
            setattr(kept, column, _unb64(change["before"]))
    index_nominal(kept)
    merged.merged_into_id = None
    index_nominal(merged)
    if row.candidate_id is not None:
        cand = db.session.get(DuplicateCandidate, row.candidate_id)
        if cand is not None:
            cand.status, cand.decided_at, cand.decided_by_id = OPEN, None, None
    row.undone_at = clock.utcnow()
    row.undone_by_id = user.id
    db.session.flush()
    _expire_links(touched, kept, merged)
    for case in touched:
        _event(case, "unmerged", user, f"Merge {row.id} undone: this case is back with its original record")
        audit.record("unmerge", user=user, panel=case.panel, nominal_id=case.nominal_id, case_id=case.id,
                     categories=["identity", "offending"], detail=f"merge {row.id} undone")
    audit.record("unmerge", user=user, nominal_id=kept.id, categories=["identity"],
                 detail=f"merge {row.id} undone: nominal {merged.id} separated from nominal {kept.id}; "
                        f"cases returned: {[c.id for c in touched]}")
    db.session.flush()


def _date(text: str | None):
    import datetime as dt

    return dt.date.fromisoformat(text) if text else None


# -- reading merge history ------------------------------------------------------------------

@dataclass
class MergeView:
    merge: Merge
    kept_name: str
    merged_name: str
    cases_moved: int
    cases_exited: int
    filled: list[str]
    by: str
    undone_by: str


@unsealing("names in the merge history, within the viewer's scope")
def merge_history(policy: Policy | None, *, limit: int = 100, merge_id: int | None = None) -> list[MergeView]:
    """Merges, newest first; names only where the viewer may read identity (else pseudonyms).

    With `policy` None (the admin's unmerge page) nobody's name is shown, only pseudonyms.
    """
    stmt = db.select(Merge).order_by(Merge.at.desc(), Merge.id.desc()).limit(limit)
    if merge_id is not None:
        stmt = stmt.where(Merge.id == merge_id)
    rows = list(db.session.execute(stmt).scalars())
    ids = {r.kept_id for r in rows} | {r.merged_id for r in rows}
    nominals = {n.id: n for n in db.session.execute(db.select(Nominal).where(Nominal.id.in_(ids))).scalars()} \
        if ids else {}
    cases = cases_by_nominal(ids)
    users = {u.id: u for u in db.session.execute(db.select(User).where(
        User.id.in_({r.by_id for r in rows} | {r.undone_by_id for r in rows if r.undone_by_id}))).scalars()} \
        if rows else {}
    scope = Scope.of(policy) if policy is not None else None
    out = []
    for r in rows:
        panels = [c.panel_id for n in (r.kept_id, r.merged_id) for c in cases.get(n, [])]
        if scope is not None and not scope.sees_identity(panels):
            continue
        show = scope is not None

        def name(nid: int, show=show) -> str:
            n = nominals[nid]
            return (n.full_name if show else "") or pseudonym(n.uid)

        moved = r.moved or {}
        by, undone = users.get(r.by_id), users.get(r.undone_by_id)
        out.append(MergeView(
            r, name(r.kept_id), name(r.merged_id),
            sum(1 for c in moved.get("cases", []) if c["to"] == r.kept_id), len(moved.get("exits", [])),
            [IDENTIFIER_LABELS.get(f, f.replace("_", " ")) for f in moved.get("filled", [])],
            f"{by.name} ({by.agency.code})" if by else "", f"{undone.name} ({undone.agency.code})" if undone else "",
        ))
    return out
