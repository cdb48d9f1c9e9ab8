"""The group-sequential design behind `ablate.resolve`: how much of a comparison's false-positive budget a look
may spend, and the boundary a test statistic must cross there.

Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70(3):659-663: an
alpha-spending function alpha(t) says how much of the two-sided level alpha is spent by information fraction t
(the comparison's information now over its information at `--max-seeds`), so the looks need not be planned in
advance. Two families:

* `obf`, O'Brien-Fleming-like: alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)): almost nothing spent on early,
  noisy looks, nearly all of alpha left for the last one (the default);
* `pocock`, Pocock-like: alpha(t) = alpha ln(1 + (e - 1) t): spent evenly, early stops come easier.

The boundary c_k at look k solves P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = alpha(t_k) -
alpha(t_{k-1}) for the canonical joint distribution of a statistic that accumulates independent increments
(corr(Z_j, Z_k) = sqrt(t_j / t_k)), computed by the recursive numerical integration of Armitage, McPherson and
Rowe (1969). A look's Welch t-test is then held to the nominal two-sided level 2 (1 - Phi(c_k)): the
"significance level approach" for unknown variances (Jennison & Turnbull 2000, Group Sequential Methods with
Applications to Clinical Trials, section 11.1). `ablate.bench.resolve_sim` measures the false-positive rate this
gives at the few seeds an ablation has.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import optimize, stats

SPENDING = ("obf", "pocock")
GRID = 801        # points of the integration grid per look


def spent(t: float, alpha: float, spending: str = "obf") -> float:
    """The part of the two-sided level `alpha` spent by information fraction t (0 at t = 0, alpha at t >= 1)."""
    if spending not in SPENDING:
        raise ValueError(f"unknown alpha-spending function {spending!r}: use one of {', '.join(SPENDING)}")
    t = min(max(float(t), 0.0), 1.0)
    if t == 0:
        return 0.0
    if spending == "obf":
        return float(2 * stats.norm.sf(stats.norm.isf(alpha / 2) / math.sqrt(t)))
    return float(alpha * math.log(1 + (math.e - 1) * t))


def _exit_probability(density: np.ndarray, grid: np.ndarray, step: float, var: float, edge: float) -> float:
    """P(|W_prev + N(0, var)| >= edge), W_prev having the (sub-)density `density` on `grid`."""
    sd = math.sqrt(var)
    tails = stats.norm.cdf((-edge - grid) / sd) + stats.norm.sf((edge - grid) / sd)
    return float(np.sum(density * tails) * step)


def boundaries(fractions, alpha: float, spending: str = "obf") -> list[float]:
    """The z boundary of each look at the given increasing information fractions (inf where a look spends
    nothing: its fraction did not grow). W(t) = Z sqrt(t) is tracked as a sub-density on a grid over the
    region where no boundary has been crossed."""
    out: list[float] = []
    density = grid = None
    step = 0.0
    previous_t, previous_spent = 0.0, 0.0
    for t in fractions:
        t = min(max(float(t), previous_t), 1.0)
        budget = spent(t, alpha, spending) - previous_spent
        var = t - previous_t
        if budget <= 1e-15 or var <= 0:
            out.append(math.inf)
            continue
        if density is None:
            c = float(stats.norm.isf(budget / 2))          # the first look: P(|Z| >= c) = budget
        else:
            def excess(c):
                return _exit_probability(density, grid, step, var, c * math.sqrt(t)) - budget
            if excess(0.0) <= 0:                           # everything left may be spent: reject at any z
                c = 0.0
            else:
                c = float(optimize.brentq(excess, 0.0, 40.0, xtol=1e-10))
        edge = c * math.sqrt(t)
        new_grid = np.linspace(-edge, edge, GRID)
        new_step = new_grid[1] - new_grid[0] if edge > 0 else 0.0
        if density is None:
            new_density = stats.norm.pdf(new_grid, scale=math.sqrt(t))
        else:   # the density of W_prev + N(0, var) on the continuation region
            kernel = stats.norm.pdf((new_grid[:, None] - grid[None, :]) / math.sqrt(var)) / math.sqrt(var)
            new_density = kernel @ density * step
        density, grid, step = new_density, new_grid, new_step
        out.append(c)
        previous_t, previous_spent = t, previous_spent + budget
    return out


def nominal_levels(fractions, alpha: float, spending: str = "obf") -> list[float]:
    """Each look's two-sided nominal p-value level: a look's p below it crosses the boundary."""
    return list(_levels(tuple(round(float(t), 12) for t in fractions), float(alpha), spending))


@functools.lru_cache(maxsize=4096)       # a sweep's fractions take few values: seed counts are whole numbers
def _levels(fractions: tuple[float, ...], alpha: float, spending: str) -> tuple[float, ...]:
    return tuple(float(2 * stats.norm.sf(c)) if math.isfinite(c) else 0.0
                 for c in boundaries(fractions, alpha, spending))
