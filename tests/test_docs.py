"""The README and docs/ point only at files that exist: a page moved or renamed leaves no dead pointer behind."""
from __future__ import annotations

import re

from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# `path` or `path:SYMBOL` in backticks, for the project's own folders
POINTER = re.compile(r"`((?:docs|experiments|ablate|conf|tests|notebooks)/[^`\s:]*)(?::(\w+))?`")
# files a page tells the reader to write (docs/extending.md): examples, not pointers
EXAMPLE_STEMS = {"name", "tiny_net"}


def pointers(text: str) -> list[tuple[str, str | None]]:
    out = []
    for m in POINTER.finditer(text):
        path = m.group(1).rstrip(".,;)")
        if any(c in path for c in "*{}<>$") or "..." in path:
            continue                        # a pattern (`conf/<group>/`), not a file
        out.append((path, m.group(2)))
    return out


def test_the_pointer_pattern_reads_paths_and_symbols():
    found = pointers("see `docs/usage.md`, `ablate/core/optim.py:param_groups` and `conf/<group>/` (`x`).")
    assert found == [("docs/usage.md", None), ("ablate/core/optim.py", "param_groups")]


def test_every_file_the_readme_and_docs_point_to_exists():
    dead = []
    for page in PAGES:
        for path, symbol in pointers(page.read_text()):
            target = ROOT / path
            if path.startswith("conf/") and target.stem in EXAMPLE_STEMS:
                continue
            if not target.exists():
                dead.append(f"{page.name}: {path}")
            elif symbol and symbol not in target.read_text():
                dead.append(f"{page.name}: {path} has no {symbol}")
    assert not dead, "dead pointers (move the page back or fix the pointer):\n" + "\n".join(dead)


def test_every_page_in_docs_is_reachable_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    linked = {p for p, _ in pointers(readme)}
    for page in PAGES[1:]:
        others = "".join(p.read_text() for p in PAGES[1:] if p != page)
        rel = f"docs/{page.name}"
        assert rel in linked or rel in others, f"{rel} is linked from neither the README nor another page of docs/"
