"""`make up`, `plan`, `status` and `logs` run in a virtualenv with requirements-deploy.txt only: everything the
Pulumi program and those tools import, following their imports through this repository, is in it."""

import ast
import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINTS = [
    "__main__.py",
    "tools/plan.py",
    "tools/preflight.py",
    "tools/status.py",
    "tools/logs.py",
    "tools/pin_digests.py",
]
LOCAL_PACKAGES = {"components", "tools", "workloads"}


def requirement_names(path: Path) -> set[str]:
    names = set()
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("-r "):
            names |= requirement_names(path.parent / line.split()[1])
        elif line and not line.startswith("#"):
            names.add(normal(line.split("==")[0].split("[")[0]))
    return names


def normal(name: str) -> str:
    return name.lower().replace("_", "-")


def installed_with(names: set[str]) -> set[str]:
    """`names` and every distribution they require, transitively (extras left out)."""
    found, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(normal(requirement.name))
    return found


def module_file(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, including those imported only inside functions, and the packages above them."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {".".join(name.split(".")[:depth]) for name in found for depth in range(1, name.count(".") + 2)}


def third_party_imports() -> set[str]:
    seen, pending, outside = set(), [REPO / entry for entry in ENTRY_POINTS], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in LOCAL_PACKAGES:
                if (file := module_file(module)) is not None:
                    pending.append(file)
            elif top not in sys.stdlib_module_names and top != "__future__":
                outside.add(top)
    return outside


def test_deployment_code_imports_nothing_outside_requirements_deploy():
    distributions = importlib.metadata.packages_distributions()
    available = installed_with(requirement_names(REPO / "requirements-deploy.txt"))
    missing = {
        module
        for module in third_party_imports()
        if not any(normal(name) in available for name in distributions[module])
    }
    assert missing == set()
    assert not {"pyspark", "pytest", "moto"} & installed_with({"pulumi"})


def test_the_tests_requirements_include_the_deployments():
    assert requirement_names(REPO / "requirements-deploy.txt") < requirement_names(REPO / "requirements.txt")
