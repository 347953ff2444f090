"""What the code relies on about an image, each fact with the source it was read from.

An image is a dependency with an interface: the user it runs as, its shell, tools and Python, the
directories its process writes and who owns them, its entrypoint, the environment variables it
honours and its health endpoint. `components/versions.py` records these facts next to each pin;
tests hold every ServiceSpec against the facts of its image (tests/unit/test_image_facts.py), so a
health command calling a tool the image lacks, a volume its user cannot write or code newer than its
Python fails `make test` instead of crash-looping after `pulumi up`.

A fact that could not be read from a source says so (`confirmed=False`, and the note says what it
rests on) rather than guessing silently; docs/image-facts.md lists them all.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """Where a fact was read: a file of a repository at a tag or commit (or a published page)."""

    repository: str
    ref: str
    path: str
    note: str = ""

    def __str__(self) -> str:
        where = f"{self.repository}@{self.ref}:{self.path}"
        return f"{where} ({self.note})" if self.note else where


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value and where it comes from; `confirmed=False` marks an inference, explained in the note."""

    value: T
    source: Source
    confirmed: bool = True


@dataclass(frozen=True)
class User:
    uid: int
    gid: int

    def __str__(self) -> str:
        return f"{self.uid}:{self.gid}"

    @property
    def is_root(self) -> bool:
        return self.uid == 0


ROOT = User(0, 0)


@dataclass(frozen=True)
class Directory:
    """A directory that exists in the image, with its owner and mode."""

    owner: User
    mode: int

    def writable_by(self, user: User) -> bool:
        """Whether `user` may create files in it."""
        if user.is_root or self.mode & 0o002:
            return True
        if user.uid == self.owner.uid:
            return bool(self.mode & 0o200)
        return bool(self.mode & 0o020) and self.owner.gid == user.gid


@dataclass(frozen=True)
class RootEntrypoint:
    """An entrypoint that starts as root, makes `makes_writable` its user's, then drops to `drops_to`
    (gosu / su-exec): a volume there is writable whatever ownership it starts with."""

    script: str
    drops_to: User
    makes_writable: tuple[str, ...]


DIGESTS_FILE = Path(__file__).with_name("image-digests.json")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@functools.cache
def recorded_digests() -> dict[str, str]:
    """reference -> manifest digest, as `make pin-digests` last resolved them (tools/pin_digests.py)."""
    digests = json.loads(DIGESTS_FILE.read_text())
    bad = [reference for reference, digest in digests.items() if not _DIGEST.match(digest)]
    if bad:
        raise ValueError(f"{DIGESTS_FILE.name}: not a sha256 digest for {', '.join(bad)}")
    return digests


@dataclass(frozen=True)
class ImageFacts:
    """The facts of one image. `tools` are commands on its PATH and absolute paths of executables."""

    reference: str
    published: Fact[str]  # the registry serving the reference, as last verified
    user: Fact[User]  # the user its process runs as when the image's USER is kept
    tools: Fact[frozenset[str]]
    python: Fact[str | None]  # major.minor of `python3` on PATH
    directories: Mapping[str, Fact[Directory]]
    entrypoint: Fact[tuple[str, ...]]
    environment: Fact[frozenset[str]]  # variables whose meaning to this image was read from its source
    health: Fact[str]
    root_entrypoint: Fact[RootEntrypoint] | None = None
    notes: tuple[str, ...] = ()

    @property
    def pinned(self) -> str:
        """The reference to pull: `tag@sha256:...` once components/image-digests.json records the tag's
        digest (`make pin-digests` resolves them), else the tag alone."""
        digest = recorded_digests().get(self.reference)
        return f"{self.reference}@{digest}" if digest else self.reference

    @property
    def registry(self) -> str:
        """Host of the registry the reference names (Docker Hub when it names none)."""
        first = self.reference.split("/", 1)[0]
        return first if "/" in self.reference and ("." in first or ":" in first) else "docker.io"

    def has_tool(self, command: str) -> bool:
        return command in self.tools.value

    def directory(self, path: str) -> Directory | None:
        """The image's directory at `path`, or None when the image has no such directory."""
        fact = self.directories.get(posixpath.normpath(path))
        return fact.value if fact is not None else None

    def nearest_directory(self, path: str) -> tuple[str, Directory]:
        """The deepest existing directory at or above `path`: where a process must create the rest."""
        current = posixpath.normpath(path)
        while True:
            found = self.directory(current)
            if found is not None:
                return current, found
            if current == "/":
                raise KeyError(f"{self.reference}: no directory fact covers {path}")
            current = posixpath.dirname(current)

    def derive(self, reference: str, source: Source, **changes: object) -> ImageFacts:
        """Facts of an image built FROM this one, read from `source` (its Dockerfile): `changes` replace
        facts, except tools, environment and directories, which add to the base image's."""
        updated: dict[str, object] = {"reference": reference}
        for name, value in changes.items():
            if name == "directories":
                added = {path: Fact(directory, source) for path, directory in dict(value).items()}  # type: ignore[call-overload]
                updated[name] = {**self.directories, **added}
            elif name == "tools":
                updated[name] = Fact(self.tools.value | frozenset(value), source)  # type: ignore[arg-type]
            elif name == "environment":
                updated[name] = Fact(self.environment.value | frozenset(value), source)  # type: ignore[arg-type]
            else:
                updated[name] = Fact(value, source)
        return dataclasses.replace(self, **updated)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BuiltImage:
    """An image this repository builds: its Dockerfile, build arguments and resulting facts."""

    name: str
    dockerfile: str
    build_args: Mapping[str, str]
    facts: ImageFacts


def _describe(value: object) -> str:
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "none"
    if isinstance(value, tuple):
        return " ".join(value) or "none"
    if isinstance(value, Directory):
        return f"owner {value.owner}, mode {value.mode:o}"
    if isinstance(value, RootEntrypoint):
        return (
            f"{value.script} starts as root, makes {', '.join(value.makes_writable)} writable, runs as {value.drops_to}"
        )
    return "none" if value is None else str(value)


def _rows(facts: ImageFacts) -> list[tuple[str, Fact[object]]]:
    rows: list[tuple[str, Fact[object]]] = [
        ("published by", facts.published),
        ("runs as", facts.user),
        ("tools", facts.tools),
        ("python3", facts.python),
        ("entrypoint", facts.entrypoint),
        ("environment", facts.environment),
        ("health", facts.health),
    ]
    if facts.root_entrypoint is not None:
        rows.insert(2, ("root entrypoint", facts.root_entrypoint))
    rows += [(f"directory {path}", fact) for path, fact in sorted(facts.directories.items())]
    return rows


def render_facts(
    upstream: Iterable[ImageFacts], built: Iterable[BuiltImage], providers: Mapping[str, Fact[str]]
) -> str:
    """Markdown of every image's facts and the providers' semantics, each with its source; unconfirmed
    facts are marked."""
    lines = [
        "# Image facts",
        "",
        "Generated by `python -m components.versions facts` from components/versions.py; a test keeps this",
        "file equal to it. **unconfirmed** marks a fact that rests on an inference its source note explains.",
        "",
    ]
    sections = [(facts.reference, facts) for facts in upstream]
    sections += [(f"{image.facts.reference} (built from {image.dockerfile})", image.facts) for image in built]
    for title, facts in sections:
        lines += [f"## {title}", "", "| fact | value | source |", "| --- | --- | --- |"]
        for name, fact in _rows(facts):
            mark = "" if fact.confirmed else " **unconfirmed**"
            lines.append(f"| {name} | {_describe(fact.value)}{mark} | {fact.source} |".replace("\n", " "))
        lines += [*(f"- {note}" for note in facts.notes), ""]
    lines += ["## What the targets rely on of the Pulumi providers", "", "| what | behaviour | source |"]
    lines.append("| --- | --- | --- |")
    for name, fact in providers.items():
        mark = "" if fact.confirmed else " **unconfirmed**"
        lines.append(f"| {name} | {fact.value}{mark} | {fact.source} |")
    return "\n".join([*lines, ""])
