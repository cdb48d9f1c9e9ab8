"""`python -m ablate.resolve SWEEP_DIR [MORE_SWEEP_DIRS ...] [--max-seeds N] [--budget-hours H] [--alpha A]
[--spending obf|pocock] [--baseline CONFIG] [--dry-run]`: look at the sweeps' comparisons, add seeds only where
one is still open, look again, until each is resolved or futile, or the next round would pass the budget; then
write the report. Every look is kept in the first SWEEP_DIR's resolve.json, so a killed resolve, or a later one,
spends only the alpha that is left. With several folders (a baseline swept earlier into another), each
configuration's new seeds go to the folder that holds its runs."""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ablate.record.sweep import sweep_folders
from ablate.report.build import build
from ablate.report.markdown import write_report
from ablate.resolve import sweep as on_sweep
from ablate.resolve.looks import Design, done, look, plan
from ablate.resolve.state import history, looks_table, new_state, read_state, write_state


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ablate.resolve", description=(
        "Resolve a sweep's comparisons with the fewest runs: seeds are added only where a comparison is still "
        "open, and a group-sequential design keeps the familywise false-positive rate at --alpha over all looks."))
    p.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR",
                   help="sweep folders (hydra.sweep.dir) with 2+ configurations among them; the first keeps "
                        "resolve.json and the report")
    p.add_argument("--max-seeds", type=int, default=5, help="seeds a configuration may reach (default 5)")
    p.add_argument("--budget-hours", type=float, default=math.inf,
                   help="stop before a round that would take the runs resolve launches past this many hours")
    p.add_argument("--alpha", type=float, default=0.05, help="familywise false-positive rate over all looks")
    p.add_argument("--spending", choices=("obf", "pocock"), default="obf",
                   help="alpha-spending function: obf (O'Brien-Fleming-like, default) or pocock")
    p.add_argument("--futility-optimism", type=float, default=Design.futility_optimism, metavar="K",
                   help="call a comparison futile only if even |delta| + K standard errors needs more than "
                        f"--max-seeds (default {Design.futility_optimism:g}; futility spends no alpha, so K may "
                        "change between looks)")
    p.add_argument("--baseline", help="the configuration others are compared with (as the report's --baseline)")
    p.add_argument("--dry-run", action="store_true", help="print this look and the next round's plan and cost; "
                                                          "launch nothing and record nothing")
    return p


def _check(args) -> Design:
    """Bad input is named before any record is read."""
    if args.max_seeds < 2:
        raise ValueError(f"--max-seeds {args.max_seeds}: a comparison needs 2+ seeds a side; pass 2 or more")
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha {args.alpha}: pass a level between 0 and 1, e.g. 0.05")
    if not args.futility_optimism >= 0:
        raise ValueError(f"--futility-optimism {args.futility_optimism}: pass 0 or more standard errors, e.g. 1")
    if not args.budget_hours > 0:
        raise ValueError(f"--budget-hours {args.budget_hours}: pass a positive number of hours")
    sweep_folders(args.sweep_dirs)
    return Design(alpha=args.alpha, max_seeds=args.max_seeds, spending=args.spending,
                  futility_optimism=args.futility_optimism)


def _same_design(state: dict | None, design: Design, sweep: Path) -> None:
    if state is None:
        return
    before = {k: state["design"].get(k) for k in ("alpha", "max_seeds", "spending")}
    now = {k: getattr(design, k) for k in before}
    if before != now:
        changed = ", ".join(f"{k} {before[k]} -> {now[k]}" for k in before if before[k] != now[k])
        flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in before.items())
        raise ValueError(f"{sweep} was resolved with another design ({changed}): its alpha is spent by that "
                         f"design; pass {flags}, or resolve into a new sweep folder")


def _folders(sweeps: list[Path]) -> list[str]:
    """The folders resolved over, as paths from the first (so the set survives a move of them all)."""
    return [os.path.relpath(s.resolve(), sweeps[0].resolve()) for s in sweeps]


def _same_folders(state: dict | None, sweeps: list[Path]) -> None:
    """The comparisons, and so the alpha already spent on them, are those of the folders first looked at."""
    if state is None:
        return
    before = state.get("sweeps", ["."])
    if before != _folders(sweeps):
        named = " ".join(os.path.normpath(sweeps[0] / b) for b in before)
        raise ValueError(f"{sweeps[0]} was resolved over the folders {named}: its looks spent alpha on their "
                         f"comparisons; pass the same folders in that order, or resolve into a new sweep folder")


def _round_cost(adds: dict[str, int], seconds: float) -> str:
    runs = sum(adds.values())
    if not math.isfinite(seconds):
        return f"{runs} run(s), time unknown (no completed run records one)"
    return f"{runs} run(s), about {runs * seconds / 3600:.2f} h at the sweep's median {seconds / 60:.1f} min a run"


def _one_look(sweeps: list[Path], baseline, design: Design, state: dict | None):
    report = build(sweeps, baseline)
    comparisons = on_sweep.comparisons_of(report)
    if not comparisons:
        raise ValueError(f"{' '.join(map(str, sweeps))} has nothing to compare (one configuration): sweep 2+ "
                         f"configurations first")
    values = on_sweep.values_of(report.runs)
    fractions, stopped = history(state)
    rows = look(comparisons, values, design, fractions, stopped)
    adds = plan(rows, values, design)
    return report, values, rows, adds


def resolve(sweeps, design: Design, baseline=None, budget_hours: float = math.inf, dry_run: bool = False,
            launch=on_sweep.launch, echo=print) -> dict:
    """The loop over one sweep folder or several (the first keeps the state); returns the state it wrote.
    `launch` runs a round's commands (a test passes its own)."""
    sweeps = [Path(s) for s in sweeps] if isinstance(sweeps, (list, tuple)) else [Path(sweeps)]
    sweep, state = sweeps[0], _open_state(sweeps, design)
    while True:
        report, values, rows, adds = _one_look(sweeps, baseline, design, state)
        entry = {"look": len(state["looks"]) + 1, "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                 "rows": [r.as_dict() for r in rows], "planned_runs": sum(adds.values())}
        seconds = on_sweep.run_seconds(report.runs)
        commands = on_sweep.round_commands(report.runs, adds)
        if state["looks"] and all(r.comparison.name in history(state)[1] for r in rows):
            echo(f"{sweep}: every comparison was resolved or stopped at look {len(state['looks'])}; nothing to add")
            return state
        if dry_run:
            echo(looks_table({"looks": [entry]}, report.labels, markdown=True))
            echo(f"next round (dry run, not recorded as a look): {_round_cost(adds, seconds)}"
                 if adds else "nothing to add: every comparison is resolved or stopped")
            for cmd in commands:
                echo("  python " + " ".join(cmd[1:]))
            return state
        for folder in sweeps:
            on_sweep.check_launchable(folder)
        state["looks"].append(entry)
        write_state(sweep, state)
        echo(looks_table({"looks": [entry]}, report.labels, markdown=True))
        if done(rows) or not adds:
            echo(f"look {entry['look']}: every comparison is resolved or stopped")
            break
        cost = sum(adds.values()) * seconds / 3600 if math.isfinite(seconds) else 0.0
        if state["launched_hours"] + cost > budget_hours:
            echo(f"look {entry['look']}: stopped before the next round ({_round_cost(adds, seconds)}), which "
                 f"would pass --budget-hours {budget_hours:g} ({state['launched_hours']:.2f} h launched so far)")
            break
        echo(f"look {entry['look']}: launching {_round_cost(adds, seconds)}")
        if not _launch_round(sweeps, baseline, state, adds, values, lambda: launch(commands), echo):
            break
    return state


def _open_state(sweeps: list[Path], design: Design) -> dict:
    """The state in the first folder (a new one if none), checked against this design and these folders."""
    for folder in sweeps:
        on_sweep.check_readable(folder)
    state = read_state(sweeps[0])
    _same_design(state, design, sweeps[0])
    _same_folders(state, sweeps)
    state = state or new_state({**asdict(design), "describe": design.describe()})
    state["design"].update(futility_optimism=design.futility_optimism, describe=design.describe())
    if len(sweeps) > 1:
        state["sweeps"] = _folders(sweeps)
    return state


def _launch_round(sweeps: list[Path], baseline, state: dict, adds: dict, values: dict, run_commands,
                  echo) -> bool:
    """Run one round's commands and count its hours; False (and the state says why) when some of its runs did
    not complete, so the loop stops instead of looking at fewer seeds than it planned."""
    t0 = time.monotonic()
    statuses = run_commands()
    state["launched_hours"] += (time.monotonic() - t0) / 3600
    write_state(sweeps[0], state)
    after = on_sweep.values_of(build(sweeps, baseline).runs)
    short = {c: n for c, n in adds.items() if len(after.get(c, [])) < len(values.get(c, [])) + n}
    if not short:
        return True
    echo(f"a round's runs did not all complete ({', '.join(f'{c}: {n}' for c, n in short.items())}; "
         f"exit statuses {statuses}): see `python -m ablate.status {' '.join(map(str, sweeps))}`; "
         f"rerun resolve to retry them")
    state["stopped_because"] = "runs of a round did not complete"
    write_state(sweeps[0], state)
    return False


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        design = _check(args)
        sweeps = [Path(s) for s in args.sweep_dirs]
        state = resolve(sweeps, design, args.baseline, args.budget_hours, args.dry_run)
        if not args.dry_run:
            out = write_report(sweeps, args.baseline, figures=True)
            print(f"report: {out / 'report.md'} ({len(state['looks'])} look(s), design: {design.describe()})")
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
