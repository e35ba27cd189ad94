#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""inclusion_check.py: brute-force check of the theorem in docs/SWEEP.md.

A direct model of the seed's slot policy (a few lines per rule, slots as a
Python list), run at every budget 0..C+1 on random traces of `a K`, `a -` and
`f` lines (no `c K`). After every operation, for every adjacent pair of
budgets W, W+1, the warm key list and cold count must be in state
  (E) L[W+1] == L[W] and cold[W+1] == cold[W], or
  (X) L[W+1] == [e] + L[W] and cold[W+1] == cold[W] - 1,
and every `a K` that hits at W must hit at W+1.
With --clears it also draws `c K` lines and reports the first violation
(expected: the property does not hold with clears).

    inclusion_check.py [--traces N] [--seed S] [--clears]
Exit status 0 when the outcome is the expected one, 1 otherwise.
"""
import argparse
import random
import sys


def run(cap, budget, ops):
    """Replays ops at one budget; returns per-op (warm keys, cold left) and hits."""
    last_cold = 0
    warm = []          # (slot, key) oldest first
    key_of = {}        # slot -> key while used
    got = []           # handle -> slot or None
    states, hits = [], []
    for op in ops:
        if op[0] == 'f':
            s = got[op[1]]
            if s is not None:
                warm.append((s, key_of.pop(s)))
        else:
            k, s, hit = op[1], None, False
            mine = [x for x in warm if k is not None and x[1] == k]
            if mine:
                s = mine[-1][0]
                warm.remove(mine[-1])
                hit = op[0] == 'a'
            elif op[0] == 'a':
                if len(warm) < budget:
                    if last_cold < cap:
                        s, last_cold = last_cold, last_cold + 1
                    elif warm:
                        s = warm.pop(0)[0]
                elif warm:
                    s = warm.pop(0)[0]
                elif last_cold < cap:
                    s, last_cold = last_cold, last_cold + 1
            if s is not None:
                key_of[s] = k if op[0] == 'a' else None
            got.append(s)
            hits.append(hit)
        states.append(([x[1] for x in warm], cap - last_cold))
    return states, hits


def gen(rng, n, keys, cap, p_nokey, p_clear):
    ops, live, h = [], [], 0
    for _ in range(n):
        if live and (len(live) >= cap or rng.random() < 0.5):
            ops.append(('f', live.pop(rng.randrange(len(live)))))
            continue
        r = rng.random()
        if r < p_clear:
            ops.append(('c', rng.randrange(keys)))
        elif r < p_clear + p_nokey:
            ops.append(('a', None))
        else:
            ops.append(('a', rng.randrange(keys)))
        live.append(h)
        h += 1
    return ops


def violation(cap, ops):
    runs = [run(cap, w, ops) for w in range(cap + 2)]
    for w in range(cap + 1):
        for t in range(len(ops)):
            (a, ca), (b, cb) = runs[w][0][t], runs[w + 1][0][t]
            if not ((a == b and ca == cb) or (b[1:] == a and ca == cb + 1)):
                return "budgets %d/%d after op %d: %r cold %d vs %r cold %d" % (w, w + 1, t, a, ca, b, cb)
        if any(h and not h2 for h, h2 in zip(runs[w][1], runs[w + 1][1])):
            return "a hit at budget %d is a miss at %d" % (w, w + 1)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clears", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for i in range(a.traces):
        cap = rng.randint(1, 8)
        ops = gen(rng, rng.randint(1, 60), rng.randint(1, 6), cap, rng.choice([0, 0, 0.2]),
                  0.2 if a.clears else 0.0)
        v = violation(cap, ops)
        if v:
            print("violation (capacity %d, %s): %s" % (cap, v, ops))
            return 0 if a.clears else 1
    print("%d traces, no violation%s" % (a.traces, " (unexpected with --clears)" if a.clears else ""))
    return 1 if a.clears else 0


if __name__ == "__main__":
    sys.exit(main())
