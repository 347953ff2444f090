"""Each built image installs every third-party package its Python code imports, at the repository's pins.

The code an image runs is what its Dockerfile copies; the imports are read from that code, so a new
import without a matching line in the image's requirements fails here rather than at the first start.
"""

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from components.versions import SPARK_VERSION

REPO = Path(__file__).resolve().parents[2]
IMAGES = {
    "workloads/streaming_job/Dockerfile": "workloads/streaming_job/requirements.txt",
    "workloads/producer/Dockerfile": "workloads/producer/requirements.txt",
}


def pins(path: Path) -> dict[str, str]:
    """name -> version of a requirements file, following `-r` includes."""
    found: dict[str, str] = {}
    for line in (raw.strip() for raw in path.read_text().splitlines()):
        if line.startswith("-r "):
            found |= pins(path.parent / line.split()[1])
        elif line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[name.split("[")[0].lower()] = version  # psycopg[binary] installs psycopg
    return found


def copied_python_files(dockerfile: Path) -> list[Path]:
    sources = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("COPY workloads/")]
    paths = [REPO / source for source in sources]
    return sorted({file for path in paths for file in ([path] if path.is_file() else path.rglob("*.py"))})


def third_party_distributions(files: list[Path]) -> set[str]:
    modules: set[str] = set()
    for file in (path for path in files if path.suffix == ".py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - {"workloads", "__future__"}
    return {distributions[module][0].lower() for module in third_party}


@pytest.mark.parametrize("dockerfile", list(IMAGES))
def test_the_image_installs_what_its_code_imports_at_the_repository_pins(dockerfile):
    image_pins = pins(REPO / IMAGES[dockerfile])
    repository_pins = pins(REPO / "requirements.txt") | {"pyspark": SPARK_VERSION}
    imported = third_party_distributions(copied_python_files(REPO / dockerfile))
    installed_apart = {"pyspark"} if "pyspark==${SPARK_VERSION}" in (REPO / dockerfile).read_text() else set()
    assert imported - installed_apart <= set(image_pins)
    assert {name: repository_pins[name] for name in image_pins} == image_pins


def test_the_job_image_has_what_map_in_arrow_needs_beside_its_imports():
    """pyspark's mapInArrow goes through pandas_udf, which requires pandas and pyarrow (pyspark's `sql` extra,
    which also caps numpy below 2): none is imported by the job, so the import scan above cannot see them."""
    job = pins(REPO / IMAGES["workloads/streaming_job/Dockerfile"])
    requires = importlib.metadata.requires("pyspark") or []
    sql_extra = {re.split(r"[<>=;]", line)[0].strip().lower() for line in requires if 'extra == "sql"' in line}
    assert sql_extra == {"pandas", "pyarrow", "numpy"}
    assert sql_extra <= set(job)
    assert int(job["numpy"].split(".")[0]) < 2
