"""Runs the real Pulumi program (`__main__.py`) under `pulumi.runtime.set_mocks` and records
every declared resource with its type, name, parent, dependencies, inputs and which inputs are
secret, the stack outputs, and the ServiceSpec each target was asked to run.

No engine, Docker daemon or cluster is involved, so tests and people (`python -m tools.render`)
see what `pulumi up` would declare for a stack file plus overrides. Secure config values are
replaced by a fixed placeholder: real secrets are never decrypted here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import runpy
from collections.abc import Iterator, Mapping
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

from components.service import ServiceSpec
from components.settings import NAMESPACE, ConfigError
from components.targets.docker import DockerTarget
from components.targets.kubernetes import KubernetesTarget

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
PROJECT = "streamstack"
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
    timeouts: dict[str, str] = field(default_factory=dict)  # customTimeouts: create/update/delete
    retain_on_delete: bool = False  # `pulumi destroy` forgets it rather than deleting it

    def is_secret(self, path: str) -> bool:
        """True when the input at `path` (dotted, list items by index) or an enclosing value is secret."""
        parts = path.split(".")
        return any(".".join(parts[:i]) in self.secret_paths for i in range(1, len(parts) + 1))


@dataclass
class Deployment:
    resources: list[DeclaredResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    specs: list[ServiceSpec] = field(default_factory=list)

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
    """Answers like a provider would for the outputs the program reads back.

    Built images: a pushed one's `repoDigest` is `<repository>@sha256:...`; a local one's is the image
    id (pulumi-docker's provider/image.go). One-shot containers (`mustRun: false`) report the exit code
    `exit_codes` gives their resource name, 0 by default, and a line of output.
    """

    def __init__(self, exit_codes: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self.exit_codes = dict(exit_codes or {})

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            state["imageId"] = f"sha256:{args.inputs['name']}"
        elif args.typ == "docker:index/image:Image":
            digest = fake_digest(args.inputs["imageName"])
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            state["repoDigest"] = digest if args.inputs.get("skipPush") else f"{repository}@{digest}"
        elif args.typ == "docker:index/container:Container" and args.inputs.get("mustRun") is False:
            state["exitCode"] = self.exit_codes.get(args.name, 0)
            state["containerLogs"] = f"{args.name}: done\n"
        elif args.typ.startswith("random:index/random"):
            state["result"] = f"generated-{args.name}"
            state["base64"] = "c3RyZWFtc3RhY2stdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE="
            state["hex"] = "0123456789abcdef0123456789abcdef"
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


@contextlib.contextmanager
def recording_specs(specs: list[ServiceSpec]) -> Iterator[None]:
    """Record every ServiceSpec the targets are asked to run, in order."""
    originals = {target: target.run for target in (DockerTarget, KubernetesTarget)}

    def recorder(original: Any) -> Any:
        def run(self: Any, spec: ServiceSpec, parent: pulumi.Resource) -> Any:
            specs.append(spec)
            return original(self, spec, parent)

        return run

    try:
        for target, original in originals.items():
            target.run = recorder(original)  # type: ignore[method-assign]
        yield
    finally:
        for target, original in originals.items():
            target.run = original  # type: ignore[method-assign]


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
                    timeouts={
                        kind: getattr(request.customTimeouts, kind)
                        for kind in ("create", "update", "delete")
                        if getattr(request.customTimeouts, kind)
                    },
                    retain_on_delete=request.retainOnDelete,
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


class StackFileError(Exception):
    """A stack file that is not readable YAML; the message names the file and where."""


def stack_file(stack: str) -> dict[str, Any]:
    """Pulumi.<stack>.yaml as a mapping; StackFileError naming the file when it is missing or not YAML."""
    path = REPOSITORY_ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(candidate.name.split(".")[1] for candidate in REPOSITORY_ROOT.glob("Pulumi.*.yaml"))
        raise StackFileError(f"{path.name}: no such stack file; stacks here: {', '.join(stacks)}")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        position = f"line {where.line + 1}, column {where.column + 1}: " if where else ""
        problem = getattr(error, "problem", None) or str(error)
        raise StackFileError(f"{path.name}: {position}{problem}") from None
    if document is not None and not isinstance(document, dict):
        raise StackFileError(f"{path.name}: expected a mapping with a `config:` section")
    return document or {}


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> tuple[dict[str, str], list[str]]:
    """The stack file's config with overrides deep-merged into the `streamstack:` keys, as the engine passes it:
    every key keeps its namespace, so one that nothing reads is seen (and refused) by the program."""
    values: dict[str, Any] = {}
    foreign: dict[str, Any] = {}
    secret_keys: list[str] = []
    for full_key, value in (stack_file(stack).get("config") or {}).items():
        namespace, _, key = full_key.partition(":")
        is_secure = isinstance(value, dict) and set(value) == {"secure"}
        if is_secure:
            secret_keys.append(full_key)
        plain = SECRET_TEST_VALUE if is_secure else value
        if namespace == NAMESPACE:
            values[key] = plain
        else:
            foreign[full_key] = plain
    values = _merge(values, overrides or {})
    merged = {f"{NAMESPACE}:{key}": value for key, value in values.items()} | foreign
    config = {key: value if isinstance(value, str) else json.dumps(value) for key, value in merged.items()}
    return config, secret_keys


def _ignore_unretrieved_run_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed program leaves futures holding its error, which asyncio logs when they are collected;
    the error was already raised as ProgramFailedError, so only other problems are logged."""
    if not isinstance(context.get("exception"), pulumi.RunError):
        loop.default_exception_handler(context)


def _forget_pending_outputs() -> None:
    """Outputs an earlier program left pending (a failed one stops awaiting them) must not fail the
    next one; the failures they hold were reported with the program that made them."""
    for task in list(runtime_settings.SETTINGS.outputs):
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: asyncio does not log it as never retrieved
        else:
            task.cancel()
    runtime_settings.SETTINGS.outputs.clear()


def run_program(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    exit_codes: Mapping[str, int] | None = None,
) -> Deployment:
    """Run `__main__.py` for `stack` under mocks; a failing program raises ProgramFailedError.

    `exit_codes` makes the named one-shot containers report that exit code, as a failed task would."""
    config, stack_secrets = stack_config(stack, overrides)
    mocks = RecordingMocks(exit_codes)
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)
    _forget_pending_outputs()
    asyncio.get_event_loop().set_exception_handler(_ignore_unretrieved_run_errors)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    set_all_config(config, stack_secrets + [f"{NAMESPACE}:{key}" for key in secret_keys or []])
    root = runtime_settings.get_root_resource()
    program = REPOSITORY_ROOT / "__main__.py"
    specs: list[ServiceSpec] = []
    try:
        with recording_specs(specs):
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
    return Deployment(resources=monitor.declared, outputs=outputs, secret_outputs=secret_outputs, specs=specs)


def deployment_or_exit(stack: str) -> Deployment:
    """The stack's graph for the command-line tools; a bad stack file or config ends the tool with one line."""
    try:
        return run_program(stack)
    except StackFileError as error:
        raise SystemExit(f"error: {error}") from None
    except ProgramFailedError as failure:
        if isinstance(failure.error, ConfigError):
            raise SystemExit(f"error: {failure.error}") from None
        raise
