"""Runs the real Pulumi program (`__main__.py`) under `pulumi.runtime.set_mocks` and records
every declared resource with its type, name, parent, dependencies, inputs and which inputs are
secret, plus the stack outputs.

No engine, Docker daemon or cluster is involved, so tests and people (`python -m tools.render`)
see what `pulumi up` would declare for a stack file plus overrides. Secure config values are
replaced by a fixed placeholder: real secrets are never decrypted here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
PROJECT = "streamstack"
NAMESPACE = "streamstack"
_SECRET_SIG = rpc._special_secret_sig
_SIG_KEY = rpc._special_sig_key
SECRET_TEST_VALUE = "secret-from-stack-config"


@dataclass
class DeclaredResource:
    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    secret_paths: set[str] = field(default_factory=set)
    provider: str = ""  # "<provider urn>::<id>" when the resource names an explicit provider

    def is_secret(self, path: str) -> bool:
        """True when the input at `path` (dotted, list items by index) or an enclosing value is secret."""
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.secret_paths for i in range(1, len(parts) + 1))


@dataclass
class Deployment:
    resources: list[DeclaredResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[DeclaredResource]:
        return [r for r in self.resources if r.type == type_]


class ProgramFailedError(Exception):
    """The program raised; `declared` lists what it had declared before failing."""

    def __init__(self, error: Exception, declared: list[DeclaredResource]) -> None:
        super().__init__(str(error))
        self.error = error
        self.declared = declared


def _unwrap(value: Any, path: str, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            secrets.add(path)
            return _unwrap(value.get("value"), path, secrets)
        return {key: _unwrap(item, f"{path}.{key}" if path else key, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item, f"{path}.{i}", secrets) for i, item in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct carries every number as a double
    return value


def fake_digest(seed: str) -> str:
    """A well-formed, deterministic sha256 digest standing in for what a registry would return."""
    return f"sha256:{hashlib.sha256(seed.encode()).hexdigest()}"


class RecordingMocks(pulumi_mocks.Mocks):
    """Answers like a provider would for the few outputs the program reads back."""

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{args.inputs['name']}"
        elif args.typ == "docker:index/image:Image":
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            state["repoDigest"] = f"{repository}@{fake_digest(args.inputs['imageName'])}"
        elif args.typ.startswith("random:index/random"):
            state["result"] = f"generated-{args.name}"
            state["base64"] = "c3RyZWFtc3RhY2stdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="
            state["hex"] = "0123456789abcdef0123456789abcdef"
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.declared: list[DeclaredResource] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            secrets: set[str] = set()
            raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
            self.declared.append(
                DeclaredResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    dependencies=list(request.dependencies),
                    inputs=_unwrap(raw, "", secrets),
                    secret_paths=secrets,
                    provider=request.provider,
                )
            )
        return response


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, str], list[str]]:
    """The stack file's `streamstack:` config with overrides deep-merged, as the engine passes it."""
    document = yaml.safe_load((REPOSITORY_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for full_key, value in (document.get("config") or {}).items():
        key = full_key.split(":", 1)[1]
        is_secure = isinstance(value, dict) and set(value) == {"secure"}
        if is_secure:
            secret_keys.append(f"{NAMESPACE}:{key}")
        values[key] = SECRET_TEST_VALUE if is_secure else value
    values = _merge(values, overrides or {})
    config = {
        f"{NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }
    return config, secret_keys


def run_program(
    stack: str, overrides: dict[str, Any] | None = None, secret_keys: list[str] | None = None
) -> Deployment:
    """Run `__main__.py` for `stack` under mocks; a failing program raises ProgramFailedError."""
    config, stack_secrets = stack_config(stack, overrides)
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    set_all_config(config, stack_secrets + [f"{NAMESPACE}:{key}" for key in secret_keys or []])
    root = runtime_settings.get_root_resource()
    program = REPOSITORY_ROOT / "__main__.py"
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
    except Exception as error:
        raise ProgramFailedError(error, monitor.declared) from error
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()
    for name, value in root.outputs.items():
        output = pulumi.Output.from_input(value)
        outputs[name] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret_outputs.add(name)
    return Deployment(resources=monitor.declared, outputs=outputs, secret_outputs=secret_outputs)
