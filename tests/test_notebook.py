"""The notebook runs top to bottom on the committed fixture sweep."""
from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from conftest import ROOT


def test_notebook_executes_on_the_fixture(monkeypatch):
    monkeypatch.delenv("ABLATE_SWEEP", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / "ablation_report.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "6 runs" in text and "aug=cropflip" in text
    assert "delta vs baseline" in text          # the at-a-glance table
