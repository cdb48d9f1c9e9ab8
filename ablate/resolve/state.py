"""`resolve.json` in the sweep folder: the design and every look so far (written whole, atomically, after each
look), so a killed or repeated `ablate.resolve` goes on spending the alpha that is left, and the report can
say how the sweep was resolved. Reads only the record layer (the report imports it)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ablate.record.atomic import atomic_write

STATE = "resolve.json"
VERSION = 1

# a comparison's verdict after a look
OPEN, WAITING = "open", "needs 2+ seeds a side"
FUTILE, EXHAUSTED = "futile", "unresolved at --max-seeds"
REJECTED = {"better", "worse", "interact"}
STOPPED = REJECTED | {FUTILE, EXHAUSTED}


def state_path(sweep: str | Path) -> Path:
    return Path(sweep) / STATE


def read_state(sweep: str | Path) -> dict | None:
    """The sweep's resolve state, or None when resolve never looked at it; a damaged file is an error that
    names it (it holds the alpha already spent: it is not silently started over)."""
    path = state_path(sweep)
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
        if not (isinstance(state, dict) and isinstance(state.get("design"), dict)
                and isinstance(state.get("looks"), list)):
            raise ValueError("no design or looks in it")
    except (ValueError, OSError) as e:
        raise ValueError(f"{path} cannot be read ({e}): it holds the looks resolve made so far; restore it, or "
                         f"resolve into a new sweep folder") from None
    return state


def new_state(design: dict) -> dict:
    return {"version": VERSION, "design": design, "looks": [], "launched_hours": 0.0}


def write_state(sweep: str | Path, state: dict) -> None:
    atomic_write(state_path(sweep), lambda f: f.write(json.dumps(state, indent=1, default=str) + "\n"))


def history(state: dict | None) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each comparison's information fractions at its tested looks, and the verdicts that stopped one."""
    fractions: dict[str, list[float]] = {}
    stopped: dict[str, str] = {}
    for lk in (state or {}).get("looks", []):
        for row in lk.get("rows", []):
            name = row["comparison"]
            if row.get("tested"):
                fractions.setdefault(name, []).append(float(row["fraction"]))
            if row.get("verdict") in STOPPED:
                stopped[name] = row["verdict"]
    return fractions, stopped


def _points(v) -> str:
    return f"{100 * v:+.2f}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _p(v) -> str:
    return f"{v:.3g}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _label(cells: list[str], kind: str, labels: dict[str, str]) -> str:
    short = [labels.get(c, c) for c in cells]
    return f"{short[0]} -> {short[1]}" if kind != "interaction" else "interaction " + " / ".join(short)


def looks_table(state: dict, labels: dict[str, str] | None = None, markdown: bool = False):
    """Every look's rows: look | comparison | n per cell | delta in points [95% interval] | p (plain) | the
    boundary's nominal p level (the adjusted threshold) | verdict | seeds planned. A DataFrame, or Markdown."""
    import pandas as pd

    labels = labels or {}
    rows = []
    for lk in state.get("looks", []):
        for r in lk.get("rows", []):
            planned = r.get("planned") or {}
            rows.append({
                "look": lk.get("look"), "comparison": _label(r["cells"], r.get("kind"), labels),
                "n": "/".join(str(n) for n in r.get("ns", [])),
                "delta [95% CI]": f"{_points(r.get('estimate'))} [{_points(r.get('low'))}, {_points(r.get('high'))}]",
                "p": _p(r.get("p")),
                "boundary p": _p(r.get("level")) if r.get("tested") else "-",
                "verdict": r.get("verdict"),
                "seeds planned": ", ".join(f"{labels.get(c, c)} +{n}" for c, n in planned.items()) or "-"})
    df = pd.DataFrame(rows)
    if not markdown:
        return df
    if df.empty:
        return "_(no look yet)_"
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)
