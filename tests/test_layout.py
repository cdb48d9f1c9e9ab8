"""The package's shape: no import circle anywhere in ablate/, and the runtime (a job, status, the end of a sweep)
never loads the report, matplotlib or scipy."""
from __future__ import annotations

import ast
import subprocess
import sys

from conftest import ROOT

PACKAGE = ROOT / "ablate"


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path) -> set[str]:
    """Every ablate module a file imports, at the top or inside a function (a lazy import still closes a circle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ablate"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ablate"))
    return found


def test_no_import_circle_in_the_package():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {i for i in imports_of(p) if i in modules and i != m} for m, p in modules.items()}
    # a package's __init__ re-exporting its own modules is not a circle
    graph = {m: {i for i in deps if not (modules[m].name == "__init__.py" and i.startswith(m + "."))
                 and not (modules[i].name == "__init__.py" and m.startswith(i + "."))}
             for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, trail + [dep])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_the_runtime_loads_neither_the_report_nor_matplotlib_nor_scipy():
    code = ("import sys, ablate.status, ablate.job.run, ablate.sweep_end, ablate.__main__; "
            "print(sorted(m for m in ('ablate.report', 'matplotlib', 'scipy') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_a_subprocess_started_by_a_test_imports_this_checkout(tmp_path):
    # conftest puts this checkout first on PYTHONPATH: another installed clone is never what the CLI tests run
    res = subprocess.run([sys.executable, "-c", "import ablate; print(ablate.__file__)"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(PACKAGE / "__init__.py")
