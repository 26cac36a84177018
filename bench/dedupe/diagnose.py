"""Why the matcher misses or wrongly finds pairs on a labelled set (a development aid).

    python -m bench.dedupe.diagnose febrl4 [--no-ids] [--show N]

Splits false negatives into "never blocked together" and "scored below 0.5", and prints
a sample of each (with the evidence) and of the false positives.
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from duplicates.matching import Matcher

from .febrl import load


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=("febrl3", "febrl4"))
    ap.add_argument("--no-ids", action="store_true")
    ap.add_argument("--show", type=int, default=15)
    args = ap.parse_args(argv)
    records, truth = load(args.name, not args.no_ids)
    t = time.perf_counter()
    m = Matcher(records).fit()
    pairs = {(p.a, p.b): p for p in m.pairs(min_score=0.5)}
    print(f"fit+pairs {time.perf_counter() - t:.2f}s candidates={len(m._cand)}")
    print(f"caps lifted: {sorted(m.lifted_caps)}; twins cap judged on {m.twins_figures}: "
          f"at most {m.twins_share:.1%} twins")
    cand = {(int(a), int(b)) for a, b in m.ids[m._cand].tolist()}
    fn = sorted(truth - set(pairs))
    fp = sorted(set(pairs) - truth)
    unblocked = [x for x in fn if x not in cand]
    low = [x for x in fn if x in cand]
    tp = len(truth & set(pairs))
    print(f"truth={len(truth)} tp={tp} fp={len(fp)} fn={len(fn)} (never blocked {len(unblocked)}, "
          f"scored low {len(low)})")
    rec = {r.id: r for r in records}

    def show(a, b):
        ra, rb = rec[a], rec[b]
        for r in (ra, rb):
            print(f"    {r.id:6d} {r.given_name!s:14} {r.family_name!s:16} {r.date_of_birth!s:10} "
                  f"{r.postcode!s:6} {r.crn!s}")
        e = m.explain(ra, rb)
        print(f"    score={e.score:.3f} " + "; ".join(f"{x.field}={x.level}({x.weight:+.1f})" for x in e.evidence))

    ctr = collections.Counter()
    for a, b in low:
        e = m.explain(rec[a], rec[b])
        ctr[tuple(sorted(f"{x.field}={x.level}" for x in e.evidence if x.weight < 0))] += 1
    print("negative evidence among low-scored FNs:")
    for k, v in ctr.most_common(15):
        print(f"  {v:4d} {k}")
    for title, lst in (("NEVER BLOCKED", unblocked), ("SCORED LOW", low), ("FALSE POSITIVES", fp)):
        print(f"== {title} ({len(lst)})")
        rng = np.random.default_rng(1)
        sel = lst if len(lst) <= args.show else [lst[i] for i in sorted(rng.choice(len(lst), args.show, replace=False))]
        for a, b in sel:
            show(a, b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
