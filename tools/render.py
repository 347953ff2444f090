"""Write the Kubernetes objects a stack declares as YAML files, one per object, without a cluster.

    python -m tools.render --stack dev [--out DIR]

The program runs under Pulumi mocks (tools/mock_deploy.py), so this shows what `pulumi up` would
apply, with secret values redacted; diff two renderings to review a change. Every object is also
validated against the pinned Kubernetes schema; the exit status is 1 when one does not fit.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tools.manifests import KUBERNETES_SCHEMA_VERSION, file_name, manifests, validate
from tools.mock_deploy import REPOSITORY_ROOT, deployment_or_exit

RENDERED_FILE = re.compile(r"^\d{2}-.+\.yaml$")


class _ManifestDumper(yaml.SafeDumper):
    """Multi-line strings (scripts, configuration files) as literal blocks, readable in a diff."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _string)


def to_yaml(document: dict[str, Any]) -> str:
    """Deterministic YAML (sorted keys), so renderings of the same program are byte-identical."""
    return yaml.dump(document, Dumper=_ManifestDumper, sort_keys=True, default_flow_style=False, width=120)


def write(documents: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Replace the previous rendering in `out_dir` (only files this tool names) with `documents`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if RENDERED_FILE.match(stale.name):
            stale.unlink()
    written: list[Path] = []
    for document in documents:
        path = out_dir / file_name(document)
        if path in written:
            raise ValueError(f"two objects would be written to {path.name}")
        path.write_text(to_yaml(document))
        written.append(path)
    return written


def invalid(documents: Sequence[dict[str, Any]]) -> list[str]:
    """One line per object that does not fit the schema: which object and why."""
    problems = []
    for document in documents:
        try:
            validate(document)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{file_name(document)}: {error.json_path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{file_name(document)}: {error.message}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml is rendered (default: dev)")
    parser.add_argument("--out", type=Path, help="output directory (default: .cache/rendered/<stack>)")
    options = parser.parse_args(argv)
    documents = manifests(deployment_or_exit(options.stack))
    if not documents:
        print(f"stack {options.stack} declares no Kubernetes objects (is its target kubernetes?)", file=sys.stderr)
        return 2
    out_dir = options.out or REPOSITORY_ROOT / ".cache" / "rendered" / options.stack
    written = write(documents, out_dir)
    print(f"wrote {len(written)} objects of stack {options.stack} to {out_dir}")
    problems = invalid(documents)
    for problem in problems:
        print(f"invalid for Kubernetes {KUBERNETES_SCHEMA_VERSION}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
