"""What the campaign's reading scripts share (airbench_order, airbench_tradeoffs, jpeg_delta, ladder_widths): a
sweep folder's completed records, the precision each ran in, and the markdown printed and optionally written."""
from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def records(sweep: Path) -> list[dict]:
    """The completed records of the jobs in a sweep folder (none where the folder does not exist yet)."""
    out = []
    for rec in sorted(sweep.glob("*/results.json")):
        r = json.loads(rec.read_text())
        if r.get("status") == "completed":
            out.append(r)
    return out


def precision_of(rec: dict) -> str:
    """The precision a run trained in: the one it resolved to (env), else the one it asked for."""
    return str((rec.get("env") or {}).get("precision")
               or rec.get("config", {}).get("trainer", {}).get("precision") or "unknown")


def precisions(recs: list[dict]) -> set[str]:
    return {precision_of(r) for r in recs}


def emit(lines: list[str], out: Path | None) -> str:
    """The markdown printed, and written to `out` when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.write_text(text)
    return text
