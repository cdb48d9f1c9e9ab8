"""Statistics over seeds: t-intervals, Welch deltas and contrasts, paired deltas, Holm correction, seeds needed for
80% power."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

ALPHA = 0.05


def _finite(x) -> np.ndarray:
    """The finite values of x as floats (a failed or missing run's NaN is not a measurement)."""
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def t_interval(x, confidence: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)
               ) -> tuple[float, float, float, float]:
    """mean, std (n-1), low, high of the t-interval for the mean, clipped to `bounds` (an accuracy's
    interval stays within [0, 1]). NaN interval when n < 2."""
    x = _finite(x)
    n = len(x)
    if n == 0:
        return (math.nan,) * 4
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return mean, std, max(mean - half, bounds[0]), min(mean + half, bounds[1])


def prediction_interval(x, confidence: float = 0.95) -> tuple[float, float]:
    """Where one more draw from the population of x lands, `confidence` of the time: mean +- t * sd * sqrt(1 + 1/n),
    df n-1 (NaN below 2 draws). One run against a sample: where a run of that sample's own recipe would land."""
    x = _finite(x)
    mean, std, _, _ = t_interval(x)
    if not math.isfinite(std):                  # under 2 draws
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * std * math.sqrt(1 + 1 / len(x))
    return mean - half, mean + half


def contrast(groups, weights, confidence: float = 0.95) -> dict:
    """A contrast sum(w_i * mean_i) of independent groups with a Welch-Satterthwaite t-interval and two-sided
    p-value: each group keeps its own variance (weights (-1, 1) give Welch's two-sample test; (1, -1, -1, 1)
    over a 2x2's cells, the interaction). NaN interval when a group has fewer than 2 values."""
    groups = [_finite(g) for g in groups]
    out = {"ns": [len(g) for g in groups], "estimate": math.nan, "low": math.nan, "high": math.nan,
           "p": math.nan, "df": math.nan}
    if min(out["ns"]) == 0:
        return out
    out["estimate"] = float(sum(w * g.mean() for w, g in zip(weights, groups)))
    if min(out["ns"]) < 2:
        return out
    terms = [w * w * g.var(ddof=1) / len(g) for w, g in zip(weights, groups)]
    se = math.sqrt(sum(terms))
    if se == 0:
        out.update(low=out["estimate"], high=out["estimate"], p=0.0 if out["estimate"] != 0 else 1.0, df=math.inf)
        return out
    df = se ** 4 / sum(t * t / (len(g) - 1) for t, g in zip(terms, groups))
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    p = 2 * stats.t.sf(abs(out["estimate"]) / se, df)
    out.update(low=out["estimate"] - half, high=out["estimate"] + half, p=float(p), df=float(df))
    return out


def welch(a, b, confidence: float = 0.95) -> dict:
    """Delta mean(b) - mean(a) with Welch's t-interval and two-sided p-value."""
    c = contrast([a, b], [-1, 1], confidence)
    return {"n_a": c["ns"][0], "n_b": c["ns"][1], "delta": c["estimate"], "low": c["low"], "high": c["high"],
            "p": c["p"], "df": c["df"]}


def paired(a, b, confidence: float = 0.95) -> dict:
    """Delta mean(b - a) over matched pairs (a[i] and b[i] from the same seed), with the paired t-interval and
    two-sided p-value, and the pairs' correlation r (NaN with fewer than 3 pairs or no spread on a side).
    A pair with a non-finite value on either side is dropped."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = len(a)
    out = {"n": n, "delta": float((b - a).mean()) if n else math.nan, "low": math.nan, "high": math.nan,
           "p": math.nan, "r": math.nan}
    if n >= 3 and a.std() > 0 and b.std() > 0:
        out["r"] = float(np.corrcoef(a, b)[0, 1])
    if n < 2:
        return out
    _, sd_d, low, high = t_interval(b - a, confidence)
    if sd_d == 0:
        out.update(low=out["delta"], high=out["delta"], p=0.0 if out["delta"] != 0 else 1.0)
        return out
    p = 2 * stats.t.sf(abs(out["delta"]) / (sd_d / math.sqrt(n)), n - 1)
    out.update(low=low, high=high, p=float(p))
    return out


def r_by_chance(n_pairs: int, level: float = 0.05) -> float:
    """The |r| that n pairs sharing no noise at all exceed with probability `level` (two-sided): how uncertain
    a correlation from few pairs is (0.997 at 3 pairs, 0.878 at 5, 0.632 at 10). NaN below 3 pairs."""
    if n_pairs < 3:
        return math.nan
    t = stats.t.ppf(1 - level / 2, n_pairs - 2)
    return float(t / math.sqrt(n_pairs - 2 + t * t))


def holm(pvalues) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count towards the family)."""
    p = np.asarray(pvalues, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    adjusted = np.full(len(p), np.nan)
    m = len(ok)
    running = 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def verdict(delta: float, p_adjusted: float, alpha: float = ALPHA) -> str:
    if not (math.isfinite(delta) and math.isfinite(p_adjusted)) or p_adjusted >= alpha:
        return "unresolved"
    return "better" if delta > 0 else "worse"


def within_margin(a, b, margin: float, family: int = 1, alpha: float = ALPHA) -> bool:
    """Equivalence: the Welch interval of mean(b) - mean(a) at the family's Bonferroni level (1 - alpha / family,
    two-sided, so each one-sided bound holds at alpha / (2 family): stricter than two one-sided tests at alpha)
    lies inside (-margin, +margin). False when either side has fewer than 2 values."""
    w = welch(a, b, confidence=1 - alpha / max(family, 1))
    return math.isfinite(w["low"]) and -margin < w["low"] and w["high"] < margin


def margin_label(margin: float, scale: float = 100.0) -> str:
    """The equivalence verdict's name: `within ±0.5` for a margin of 0.005 on a 0-1 accuracy."""
    return f"within ±{margin * scale:g}"


def seeds_for_power(delta: float, *sds: float, weights=None, power: float = 0.8, alpha: float = ALPHA,
                    cap: int = 1000) -> float:
    """Seeds per arm at which Welch's two-sided t-test (the test behind every verdict) detects `delta` with
    `power` at level `alpha`, when the arms have spreads `sds` (two for a delta; four, with `weights`
    (1, -1, -1, 1), for a 2x2's interaction contrast).

    The noncentral t with the Welch-Satterthwaite degrees of freedom for n seeds an arm, so an arm whose
    spread dwarfs the other's needs more seeds than a pooled-variance test would say (with equal spreads it
    is the textbook two-sample figure). inf when delta is 0 or the need passes `cap`; NaN when a spread is
    unknown (fewer than 2 seeds in an arm), since nothing can be said then.
    """
    weights = [1.0] * len(sds) if weights is None else weights
    if not all(math.isfinite(v) for v in (delta, *sds)):
        return math.nan
    if delta == 0:
        return math.inf
    terms = [w * w * s * s for w, s in zip(weights, sds)]     # each arm's share of the variance, times n
    total = sum(terms)
    if total == 0:
        return 2
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    guess = (z / delta) ** 2 * total           # the normal approximation never overestimates n
    if guess > cap:
        return math.inf
    for n in range(max(2, int(guess) - 1), cap + 1):
        df = (n - 1) * total ** 2 / sum(t * t for t in terms)
        nc = abs(delta) / math.sqrt(total / n)
        if _two_sided_power(stats.t.ppf(1 - alpha / 2, df), df, nc) >= power:
            return n
    return math.inf


def _two_sided_power(crit: float, df: float, nc: float) -> float:
    """P(|T| > crit) for T noncentral t (nc >= 0). scipy returns NaN for a far tail at a large nc: the tail
    below -crit is then ~0, and the one above crit is 1 - cdf."""
    upper = stats.nct.sf(crit, df, nc)
    if not math.isfinite(upper):
        upper = 1 - stats.nct.cdf(crit, df, nc)
    lower = stats.nct.cdf(-crit, df, nc)
    return float(upper + (lower if math.isfinite(lower) else 0.0))


def sd(x) -> float:
    """The sample standard deviation of the finite values (NaN with fewer than 2)."""
    x = _finite(x)
    return float(x.std(ddof=1)) if len(x) >= 2 else math.nan
