"""One look at a sweep's comparisons, and the next round it asks for: pure functions of each configuration's
final test accuracies, the design and the looks before (the real loop and the simulation share them).

Error control: each comparison is a group-sequential test (design.py) whose level is its Holm share of alpha,
alpha / (comparisons not yet rejected), re-computed whenever one is rejected, at this look and over its earlier
looks' information fractions: the graphical (sequentially rejective) procedure for several hypotheses in a
group-sequential design, with equal weights, of Maurer & Bretz (2013), "Multiple testing in group sequential
trials using graphical approaches", Statistics in Biopharmaceutical Research 5(4):311-320. Stopping for
futility (the seeds needed exceed --max-seeds) never spends alpha and gives nothing back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ablate.report import stats
from ablate.resolve.design import nominal_levels
from ablate.resolve.state import EXHAUSTED, FUTILE, OPEN, REJECTED, STOPPED, WAITING


@dataclass(frozen=True)
class Design:
    alpha: float = 0.05
    max_seeds: int = 5
    spending: str = "obf"
    power: float = 0.8           # the power the futility rule and the plan aim at
    futility_from: int = 3       # seeds in every cell before a comparison may be called futile
    futility_optimism: float = 1.0   # futile only if even |delta| + this many standard errors needs more seeds

    def describe(self) -> str:
        name = {"obf": "O'Brien-Fleming-like", "pocock": "Pocock-like"}[self.spending]
        return (f"group-sequential, Lan-DeMets {name} alpha spending over information fractions up to "
                f"{self.max_seeds} seeds a configuration, Holm-graphical over the comparisons (Maurer & Bretz "
                f"2013), familywise alpha {self.alpha}; futility from {self.futility_from} seeds a cell when "
                f"{self._futile_when()} needs more than {self.max_seeds} seeds (non-binding: spends no alpha)")

    def _futile_when(self) -> str:
        if not self.futility_optimism:
            return "the observed delta"
        return f"even |delta| + {self.futility_optimism:g} standard errors"


@dataclass(frozen=True)
class Comparison:
    name: str
    kind: str                            # "ladder step", "vs baseline" or "interaction"
    cells: tuple[str, ...]               # configurations
    weights: tuple[float, ...]           # (-1, 1): cells[1] - cells[0]; (1, -1, -1, 1): a 2x2's interaction


@dataclass
class Row:
    comparison: Comparison
    ns: list[int]
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    p: float = math.nan
    fraction: float = math.nan           # information now over information at --max-seeds in every cell
    tested: bool = False                 # a new look for this comparison (its information grew)
    level: float = math.nan              # the nominal two-sided p-value level of this look's boundary
    share: float = math.nan              # its Holm share of alpha when the look ended
    verdict: str = OPEN
    seeds_needed: float = math.nan
    sds: list[float] = field(default_factory=list)           # each cell's seed-to-seed spread
    planned: dict[str, int] = field(default_factory=dict)     # cell -> seeds to add

    def as_dict(self) -> dict:
        c = self.comparison
        return {"comparison": c.name, "kind": c.kind, "cells": list(c.cells), "weights": list(c.weights),
                "ns": self.ns, "estimate": self.estimate, "low": self.low, "high": self.high, "p": self.p,
                "fraction": self.fraction, "tested": self.tested, "level": self.level, "share": self.share,
                "verdict": self.verdict, "seeds_needed": self.seeds_needed, "planned": self.planned}


def fraction(ns, weights, max_seeds: int) -> float:
    """A contrast's information (1 / sum w^2 / n, in units of a common variance) over its information at
    max_seeds in every cell."""
    if min(ns) < 1:
        return 0.0
    return min(1.0, sum(w * w / max_seeds for w in weights) / sum(w * w / n for w, n in zip(weights, ns)))


def _measure(c: Comparison, values: dict[str, np.ndarray], design: Design) -> Row:
    groups = [np.asarray(values.get(cell, []), dtype=float) for cell in c.cells]
    est = stats.contrast(groups, c.weights)
    row = Row(c, [len(g) for g in groups], est["estimate"], est["low"], est["high"], est["p"])
    row.fraction = fraction(row.ns, c.weights, design.max_seeds)
    row.sds = [stats.sd(g) for g in groups]
    return row


def _decided(row: Row, rejected: bool) -> str:
    if rejected:
        return "interact" if row.comparison.kind == "interaction" else ("better" if row.estimate > 0 else "worse")
    return OPEN


def look(comparisons: list[Comparison], values: dict[str, np.ndarray], design: Design,
         history: dict[str, list[float]], stopped: dict[str, str]) -> list[Row]:
    """This look's row per comparison. `history`: each comparison's information fractions at its earlier
    tested looks; `stopped`: the verdicts of comparisons an earlier look stopped (they are not tested again,
    and a rejected one's alpha has gone to the others)."""
    rows = [_measure(c, values, design) for c in comparisons]
    fractions: dict[str, list[float]] = {}
    for r in rows:
        past = list(history.get(r.comparison.name, []))
        name = r.comparison.name
        if name in stopped:
            r.verdict = stopped[name]
        elif min(r.ns) < 2:
            r.verdict = WAITING
        else:
            r.tested = not past or r.fraction > past[-1] + 1e-12
            fractions[name] = past + [r.fraction] if r.tested else past
    rejected = {n for n, v in stopped.items() if v in REJECTED}
    testable = [r for r in rows if r.comparison.name in fractions]
    while True:        # Holm-graphical: a rejection passes its share to the rest, who are tested again
        share = design.alpha / max(len(comparisons) - len(rejected), 1)
        new = []
        for r in testable:
            if r.comparison.name in rejected:
                continue
            r.share = share
            r.level = nominal_levels(fractions[r.comparison.name], share, design.spending)[-1]
            if math.isfinite(r.p) and r.p < r.level:
                new.append(r)
        if not new:
            break
        for r in new:
            rejected.add(r.comparison.name)
            r.verdict = _decided(r, True)
    for r in testable:
        if r.verdict != OPEN:
            continue
        r.seeds_needed = stats.seeds_for_power(r.estimate, *r.sds, weights=list(r.comparison.weights),
                                               power=design.power, alpha=r.share,
                                               cap=design.max_seeds)
        if r.fraction >= 1 - 1e-12:
            r.verdict = EXHAUSTED
        elif min(r.ns) >= design.futility_from and not _could_resolve(r, design):
            r.verdict = FUTILE
    return rows


def _could_resolve(r: Row, design: Design) -> bool:
    if r.seeds_needed <= design.max_seeds:
        return True
    if not design.futility_optimism:
        return False
    se = math.sqrt(sum(w * w * sd * sd / n for w, sd, n in zip(r.comparison.weights, r.sds, r.ns)))
    hopeful = abs(r.estimate) + design.futility_optimism * se
    return stats.seeds_for_power(hopeful, *r.sds, weights=list(r.comparison.weights), power=design.power,
                                 alpha=r.share, cap=design.max_seeds) <= design.max_seeds


def plan(rows: list[Row], values: dict[str, np.ndarray], design: Design) -> dict[str, int]:
    """Seeds to add per configuration: each open comparison brings all its cells to a common target, halfway
    from its fewest seeds to the seeds it needs at the observed delta and spreads (at least one more, at most
    --max-seeds); a comparison that still lacks 2 seeds in a cell brings that cell to 2. A configuration
    shared by several open comparisons gets the largest target."""
    target: dict[str, int] = {}
    for r in rows:
        if r.verdict == WAITING:
            want = {cell: max(2, n) for cell, n in zip(r.comparison.cells, r.ns)}
        elif r.verdict == OPEN:
            fewest = min(r.ns)
            need = r.seeds_needed if r.seeds_needed <= design.max_seeds else design.max_seeds
            goal = min(design.max_seeds, max(fewest + 1, math.ceil((fewest + need) / 2)))
            want = {cell: max(goal, n) for cell, n in zip(r.comparison.cells, r.ns)}
        else:
            continue
        for cell, n in want.items():
            target[cell] = max(target.get(cell, 0), min(n, max(design.max_seeds, len(values.get(cell, [])))))
    adds = {cell: t - len(values.get(cell, [])) for cell, t in target.items()}
    adds = {cell: n for cell, n in adds.items() if n > 0}
    for r in rows:
        r.planned = {cell: adds[cell] for cell in r.comparison.cells if cell in adds and r.verdict in (OPEN, WAITING)}
    return adds


def done(rows: list[Row]) -> bool:
    return all(r.verdict in STOPPED for r in rows)
