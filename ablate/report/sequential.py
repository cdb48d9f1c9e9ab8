"""The report's section on a sweep that `ablate.resolve` ran: its design, every look, and the seeds each
configuration got (read from the sweep's resolve.json)."""
from __future__ import annotations

from pathlib import Path

from ablate.report.build import Report
from ablate.resolve.state import looks_table, read_state


def resolved_section(report: Report, sweep_dirs, out: Path) -> list[str]:
    """Nothing when resolve never looked at the first sweep folder."""
    state = read_state(sweep_dirs[0])
    if state is None or not state.get("looks"):
        return []
    looks = looks_table(state, report.labels)
    looks.to_csv(out / "resolve_looks.csv", index=False)
    design = state["design"]
    last = looks[looks.look == looks.look.max()]
    seeds = ", ".join(f"{report.labels.get(c, c)}: {n}" for c, n in zip(report.summary.config, report.summary.n))
    return ["## Resolved sequentially (`python -m ablate.resolve`)", "",
            f"Design: {design.get('describe', design)}. {len(state['looks'])} look(s); "
            f"{state.get('launched_hours', 0):.2f} h of runs launched by resolve. Each look tests a comparison "
            f"whose seeds grew at the boundary's nominal p level (`boundary p`, the adjusted threshold beside the "
            f"plain Welch p); a verdict of an earlier look stands. The tables above test the final seeds once, as "
            f"a fixed design would: where they disagree with the last look, the last look's verdict is the one "
            f"whose error rate is controlled.", "",
            "Verdicts at the last look: " + "; ".join(f"{c}: {v}" for c, v in zip(last.comparison, last.verdict))
            + ".", "",
            f"Completed seeds per configuration: {seeds}.", "",
            looks_table(state, report.labels, markdown=True), ""]
