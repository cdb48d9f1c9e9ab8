"""`python -m ablate.report SWEEP_DIR [SWEEP_DIR ...] [--baseline CONFIG] [--ladder CONFIG ...] [--out DIR]
[--reference FILE] [--margin POINTS]`."""
from __future__ import annotations

import argparse
import sys

from ablate.report.markdown import write_report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ablate.report", description=(
        "Aggregate a sweep's run records into summary and delta tables with confidence intervals, "
        "figures and report.md. Works on a partly failed, killed or still-running sweep."))
    p.add_argument("sweep_dirs", nargs="+", help="sweep folders (hydra.sweep.dir) holding job folders")
    p.add_argument("--baseline", help="the configuration others are compared with, by its overrides, "
                                      "e.g. 'aug=none schedule=none' (default: the sweep's first)")
    p.add_argument("--ladder", nargs="+", metavar="CONFIG",
                   help="configurations in ladder order; each rung is compared with the previous one")
    p.add_argument("--out", help="output folder (default: FIRST_SWEEP_DIR/report)")
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument("--reference", metavar="FILE", help="a YAML file of published test accuracies (%%) per "
                                                       "configuration to compare with (see ablate/report/reference.py)")
    p.add_argument("--margin", type=float, metavar="POINTS",
                   help="equivalence margin in accuracy points: a comparison neither better nor worse whose "
                        "interval lies inside +-POINTS reads 'within +-POINTS' instead of unresolved")
    args = p.parse_args(argv)
    problems: list[str] = []
    try:
        out = write_report(args.sweep_dirs, args.baseline, args.ladder, args.out, figures=not args.no_figures,
                           reference=args.reference, echo=print, problems=problems, margin=args.margin)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"report: {out / 'report.md'}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
