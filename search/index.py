"""Name-word tokens for the people search: one-word queries without decrypting anyone.

For every word of a nominal's given name, family name and aliases (normalised as the
duplicate matcher does, split on spaces and hyphens) three keyed hashes are kept, each
under a key derived for its kind alone and truncated to TOKEN_BITS like the blind indexes
(sharing.blind_index): the word itself, its sound-alike key (Metaphone), and its first and
last three letters (a word with one typo keeps one of them intact, as the blocking keys'
affixes do). A marker row says the nominal was indexed at this VERSION.

Kept by the indexer registered with sharing.blind_index.index_nominal (run whenever an
identity is written): rows are written when the nominal is flushed. The importer inserts
new people in bulk, outside the ORM; they, and everyone recorded before this index existed
(the migration creates the table empty), have no marker and are indexed by the first
search whose scope holds them (:func:`index_missing`), so nothing has to be run by hand.

What the rows reveal to someone holding the database without the keys: which nominals
share a name word, a sound or a three-letter start or end, as the 16-bit blind indexes of
whole names and the blocking keys' affix pairs already do; truncation makes each token
shared by unrelated values on a large register.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

from sqlalchemy import case, delete, event, exists, func, insert, inspect, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, load_only

from cohort.models import Nominal
from core.extensions import db
from duplicates.matching.nicknames import GROUPS
from duplicates.matching.normalise import name_tokens, phonetic_key
from search.models import NameToken
from sharing.blind_index import keyed_token, register_indexer
from sharing.crypto import keyring
from sharing.gateway import unsealed, unsealing

TOKEN_BITS = 16
VERSION = "v1"  # bump when the tokens change: every nominal is then indexed again by the searches
WEIGHTS = {"word": 8, "phon": 4, "affix": 1}  # a candidate's rank: the sum over what it shares
STRONG = WEIGHTS["phon"]  # a candidate sharing at least a sound-alike word (not only affixes)
BATCH = 500


def _members() -> dict[str, set[str]]:
    """Nickname group id -> every name in the group."""
    members: dict[str, set[str]] = {}
    for name, groups in GROUPS.items():
        for gid in groups:
            members.setdefault(gid, set()).add(name)
    return members


_GROUP_MEMBERS = _members()


def variants(word: str) -> set[str]:
    """A name word and its nickname variants ("bill" -> william, billy, will...)."""
    out = {word}
    for gid in GROUPS.get(word, ()):
        out |= _GROUP_MEMBERS.get(gid, set())
    return out


def _hash(kind: str, text: str) -> int:
    return keyed_token(keyring().index_key(f"search:{kind}"), text, TOKEN_BITS)


def _affixes(word: str) -> set[str]:
    return {word} if len(word) <= 3 else {word[:3] + "<", word[-3:] + ">"}


def word_tokens(word: str) -> set[tuple[str, int]]:
    """The (kind, token) rows of one normalised name word."""
    out = {("word", _hash("word", word))}
    sound = phonetic_key(word)
    if sound:
        out.add(("phon", _hash("phon", sound)))
    out |= {("affix", _hash("affix", a)) for a in _affixes(word)}
    return out


def words_of(nominal) -> set[str]:
    """Every word of a nominal's names and aliases (decrypted by the caller's context)."""
    words = set(name_tokens(nominal.given_name)) | set(name_tokens(nominal.family_name))
    for alias in nominal.aliases or []:
        words |= set(name_tokens(alias))
    return {w for w in words if len(w) >= 2}


def nominal_tokens(nominal) -> set[tuple[str, int]]:
    return {(VERSION, 0)} | set(chain.from_iterable(word_tokens(w) for w in words_of(nominal)))


@register_indexer
def index_name_tokens(nominal) -> None:
    """Recompute a nominal's tokens (run by sharing.blind_index.index_nominal); the rows are
    written when it is next flushed (:func:`_write_pending`), or, for one the importer
    inserts in bulk without the ORM, when the transaction commits (:func:`_write_bulk_inserted`)."""
    nominal._search_name_tokens = nominal_tokens(nominal)
    if inspect(nominal).transient and nominal.uid:  # by uid: the importer drops its objects batch by batch
        db.session().info.setdefault("search_transient", {})[nominal.uid] = nominal._search_name_tokens


@event.listens_for(Session, "before_commit")
def _write_bulk_inserted(session) -> None:
    """Tokens of nominals indexed while transient and inserted since by uid, outside the ORM
    (exchange.importing's bulk insert): found by uid, written in the same transaction."""
    waiting: dict[str, set[tuple[str, int]]] = session.info.pop("search_transient", None) or {}
    uids = sorted(waiting)
    found: dict[int, set[tuple[str, int]]] = {}
    for start in range(0, len(uids), BATCH):
        for nominal_id, uid in session.execute(db.select(Nominal.id, Nominal.uid).where(
                Nominal.uid.in_(uids[start:start + BATCH]))):
            found[nominal_id] = waiting[uid]
    if found:
        _replace(session.connection(), found)


@event.listens_for(Session, "after_soft_rollback")
def _forget_bulk_inserted(session, _previous) -> None:
    session.info.pop("search_transient", None)  # those rows were rolled back with the transaction


@event.listens_for(Session, "after_flush")
def _write_pending(session, _context) -> None:
    pending = [o for o in chain(session.new, session.dirty)
               if isinstance(o, Nominal) and getattr(o, "_search_name_tokens", None) is not None]
    if not pending:
        return
    _replace(session.connection(), {o.id: o._search_name_tokens for o in pending})
    waiting = session.info.get("search_transient") or {}
    for o in pending:
        o._search_name_tokens = None
        waiting.pop(o.uid, None)  # indexed while transient, then added: written here already


def _replace(connection, tokens: dict[int, set[tuple[str, int]]]) -> None:
    table = NameToken.__table__
    ids = sorted(tokens)
    for start in range(0, len(ids), BATCH):
        connection.execute(delete(table).where(table.c.nominal_id.in_(ids[start:start + BATCH])))
    rows = [{"nominal_id": i, "kind": k, "token": t} for i, toks in tokens.items() for k, t in sorted(toks)]
    if rows:
        connection.execute(insert(table), rows)


def _unindexed(scope):
    marker = exists().where(NameToken.nominal_id == Nominal.id, NameToken.kind == VERSION)
    return (db.select(Nominal.id).where(Nominal.id.in_(scope), Nominal.merged_into_id.is_(None), ~marker)
            .order_by(Nominal.id))


@unsealing("indexing the name words of people in the searcher's scope who have no tokens yet")
def index_missing(scope) -> int:
    """Index the live nominals in `scope` (a select of ids) that have no marker: bulk-imported
    people, and everyone recorded before this index. Usually none; returns how many."""
    ids = list(db.session.execute(_unindexed(scope)).scalars())
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        people = db.session.execute(db.select(Nominal).where(Nominal.id.in_(chunk)).options(
            load_only(Nominal.id, Nominal.given_name_enc, Nominal.family_name_enc, Nominal.aliases_enc,
                      Nominal.uid))).scalars().all()
        try:
            with db.session.begin_nested():
                _replace(db.session.connection(), {n.id: nominal_tokens(n) for n in people})
            done += len(people)
        except IntegrityError:
            pass  # another search indexed them at the same moment
        db.session.commit()  # each chunk kept, should the request be cut short
    return done


def backfill(connection) -> int:
    """Index every live nominal through `connection` (the migration creating the table runs
    it, so an upgraded register is searchable by one word from its first search)."""
    session = Session(bind=connection)
    ids = list(connection.execute(db.select(Nominal.id).where(Nominal.merged_into_id.is_(None))
                                  .order_by(Nominal.id)).scalars())
    with unsealed("indexing every nominal's name words once, when the search's index is created"):
        for start in range(0, len(ids), BATCH):
            people = session.execute(db.select(Nominal).where(Nominal.id.in_(ids[start:start + BATCH])).options(
                load_only(Nominal.id, Nominal.uid, Nominal.given_name_enc, Nominal.family_name_enc,
                          Nominal.aliases_enc))).scalars().all()
            _replace(connection, {n.id: nominal_tokens(n) for n in people})
            session.expunge_all()
    session.close()
    return len(ids)


def query_tokens(q: str) -> set[tuple[str, int]]:
    """What a query's words (and their nickname variants) are looked up as."""
    out: set[tuple[str, int]] = set()
    for word in name_tokens(q)[:6]:
        if len(word) < 2:
            continue
        for variant in variants(word):
            out.add(("word", _hash("word", variant)))
            sound = phonetic_key(variant)
            if sound:
                out.add(("phon", _hash("phon", sound)))
        out |= {("affix", _hash("affix", a)) for a in _affixes(word)}
    return out


def ranked_candidates(q: str, scope, limit: int) -> tuple[list[int], bool]:
    """Live nominals in `scope` sharing a token with `q`, best ranked first (then by id), at
    most `limit`; and whether more than `limit` share at least a sound-alike word."""
    wanted = sorted(query_tokens(q))
    if not wanted:
        return [], False
    weight = case(*((NameToken.kind == k, w) for k, w in WEIGHTS.items()), else_=0)
    score = func.sum(weight).label("score")
    rows = db.session.execute(
        db.select(NameToken.nominal_id, score)
        .join(Nominal, Nominal.id == NameToken.nominal_id)
        .where(tuple_(NameToken.kind, NameToken.token).in_(wanted), NameToken.nominal_id.in_(scope),
               Nominal.merged_into_id.is_(None))
        .group_by(NameToken.nominal_id).order_by(score.desc(), NameToken.nominal_id).limit(limit + 1)
    ).all()
    more = len(rows) > limit and rows[limit][1] >= STRONG
    return [r[0] for r in rows[:limit]], more


def reindex(ids: Iterable[int] | None = None) -> int:
    """Index every live nominal again (after VERSION changes, or from a shell); the caller commits."""
    scope = db.select(Nominal.id) if ids is None else db.select(Nominal.id).where(Nominal.id.in_(list(ids)))
    db.session.execute(delete(NameToken).where(NameToken.nominal_id.in_(scope)))
    return index_missing(scope)
