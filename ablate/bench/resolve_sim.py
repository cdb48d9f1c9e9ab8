"""`python -m ablate.bench.resolve_sim`: does `ablate.resolve` keep its error rate, and does it pay? Seconds, no
training: simulated ablations (a baseline and --variants configurations, each compared with the baseline) whose
final accuracies are drawn from normal distributions, resolved by the same look / plan code the real loop runs.

* No true effect: the rate of simulated ablations with any better/worse verdict (the familywise false-positive
  rate), with its 95% Clopper-Pearson interval: it should be at most --alpha.
* True effects of 0.5, 1 and 2 points on every variant: the power (the share of comparisons found better), the
  mean seeds used, and a fixed design of the same power: the fewest seeds a configuration at which one Welch
  test per comparison with Holm's correction reaches that power (simulated too), and its seeds.

The default spread, 0.54 points, is the committed 100-epoch CPU ladder's (experiments/results/ladder_cpu/ladder:
the root mean square of its four rungs' seed-to-seed standard deviations at 3 seeds, JPEG copy).
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
from scipy import stats as sps

from ablate.report import stats
from ablate.resolve.looks import Comparison, Design, done, look, plan
from ablate.resolve.state import REJECTED, STOPPED

SPREAD = 0.0054


def comparisons(variants: int) -> list[Comparison]:
    return [Comparison(f"v{i} vs base", "vs baseline", ("base", f"v{i}"), (-1.0, 1.0)) for i in range(variants)]


def resolve_once(rng, effects: dict[str, float], design: Design, start: int, sd: float):
    """One simulated ablation resolved to the end: (final verdict per comparison, seeds used, looks)."""
    comps = comparisons(len(effects) - 1)
    values = {c: rng.normal(effects[c], sd, start) for c in effects}
    fractions: dict[str, list[float]] = {}
    stopped: dict[str, str] = {}
    looks = 0
    while True:
        rows = look(comps, values, design, fractions, stopped)
        looks += 1
        for r in rows:
            if r.tested:
                fractions.setdefault(r.comparison.name, []).append(r.fraction)
            if r.verdict in STOPPED:
                stopped[r.comparison.name] = r.verdict
        adds = plan(rows, values, design)
        if done(rows) or not adds:
            break
        for c, n in adds.items():
            values[c] = np.concatenate([values[c], rng.normal(effects[c], sd, n)])
    return {r.comparison.name: r.verdict for r in rows}, sum(len(v) for v in values.values()), looks


def fixed_power(rng, effect: float, variants: int, n: int, sd: float, alpha: float, reps: int) -> float:
    """The share of comparisons one Welch test per comparison at n seeds, Holm over the family, finds better."""
    base = rng.normal(0, sd, (reps, n))
    var = rng.normal(effect, sd, (reps, variants, n))
    delta = var.mean(2) - base.mean(1)[:, None]
    se2_b, se2_v = base.var(1, ddof=1)[:, None] / n, var.var(2, ddof=1) / n
    df = (se2_b + se2_v) ** 2 / (se2_b ** 2 / (n - 1) + se2_v ** 2 / (n - 1))
    p = 2 * sps.t.sf(np.abs(delta) / np.sqrt(se2_b + se2_v), df)
    found = 0
    for row_p, row_d in zip(p, delta):
        found += sum(h < alpha and d > 0 for h, d in zip(stats.holm(row_p), row_d))
    return found / (reps * variants)


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    low = sps.beta.ppf(0.025, k, n - k + 1) if k else 0.0
    high = sps.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return float(low), float(high)


def simulate(effect: float, reps: int, design: Design, variants: int = 3, start: int = 2, sd: float = SPREAD,
             seed: int = 0) -> dict:
    """One scenario (every variant `effect` above the baseline, as a fraction): rates and seeds used."""
    rng = np.random.default_rng(seed)
    effects = {"base": 0.0, **{f"v{i}": effect for i in range(variants)}}
    any_false, found, seeds, looks = 0, 0, [], []
    for _ in range(reps):
        verdicts, used, n_looks = resolve_once(rng, effects, design, start, sd)
        seeds.append(used)
        looks.append(n_looks)
        wrong = [v for v in verdicts.values() if v in REJECTED and (effect == 0 or v == "worse")]
        any_false += bool(wrong)
        found += sum(v == "better" for v in verdicts.values())
    out = {"effect_points": 100 * effect, "reps": reps, "familywise_false_rate": any_false / reps,
           "familywise_false_ci": clopper_pearson(any_false, reps), "power": found / (reps * variants),
           "mean_seeds": float(np.mean(seeds)), "mean_looks": float(np.mean(looks))}
    if effect > 0:
        out.update(_fixed_design(rng, effect, variants, sd, design, out["power"], max(reps, 400)))
    return out


def _fixed_design(rng, effect, variants, sd, design: Design, power: float, reps: int) -> dict:
    """The seeds a configuration at which the fixed test reaches the sequential design's power: the fewest
    whole number that does, and the number interpolated linearly in power between it and the one below (the
    fair figure beside a sequential design's mean)."""
    below = (1, 0.0)
    for n in range(2, 201):
        p = fixed_power(rng, effect, variants, n, sd, design.alpha, reps)
        if p >= power:
            exact = below[0] + (power - below[1]) / (p - below[1]) if p > below[1] else float(n)
            return {"fixed_seeds_per_config": n, "fixed_power": p, "fixed_seeds": n * (variants + 1),
                    "fixed_seeds_interpolated": exact * (variants + 1)}
        below = (n, p)
    return {"fixed_seeds_per_config": math.inf, "fixed_power": math.nan, "fixed_seeds": math.inf,
            "fixed_seeds_interpolated": math.inf}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m ablate.bench.resolve_sim", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=2000, help="simulated ablations per scenario")
    p.add_argument("--effects", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0], help="true effects, points")
    p.add_argument("--sd", type=float, default=100 * SPREAD, help="seed-to-seed spread, points")
    p.add_argument("--variants", type=int, default=3)
    p.add_argument("--start", type=int, default=2, help="seeds a configuration starts with")
    p.add_argument("--max-seeds", type=int, default=10)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--spending", choices=("obf", "pocock"), default="obf")
    p.add_argument("--futility-optimism", type=float, default=Design.futility_optimism,
                   help="futile only if even |delta| + this many standard errors needs more than --max-seeds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the results as JSON here too")
    args = p.parse_args(argv)
    design = Design(alpha=args.alpha, max_seeds=args.max_seeds, spending=args.spending,
                    futility_optimism=args.futility_optimism)
    print(f"{args.reps} simulated ablations per line: a baseline and {args.variants} variants, {args.start} seeds "
          f"to start, up to {args.max_seeds}, spread {args.sd} points; {design.describe()}")
    results = []
    for e in args.effects:
        r = simulate(e / 100, args.reps, design, args.variants, args.start, args.sd / 100, args.seed)
        results.append(r)
        low, high = r["familywise_false_ci"]
        line = (f"effect {e:+.1f} pts: familywise false verdicts {r['familywise_false_rate']:.4f} [{low:.4f}, "
                f"{high:.4f}]; power {r['power']:.3f}; seeds used {r['mean_seeds']:.1f} in {r['mean_looks']:.1f} looks")
        if e > 0:
            line += (f"; a fixed design of the same power: {r['fixed_seeds_interpolated']:.1f} seeds "
                     f"({r['fixed_seeds_per_config']} a configuration reach power {r['fixed_power']:.3f})")
        print(line)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "design": design.describe(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
