"""Build-time fetch of the job's connector jars, each checked against its repository checksum.

Used by the Dockerfile: `python3 fetch_jars.py REPOSITORY_URL DEST_DIR group:artifact:version ...`.
Maven repositories publish a `.sha1` next to every artifact (SHA-256 only for recent uploads), so
the download is verified against that file; a mismatch or a missing checksum fails the build.
Pinning SHA-256 values in the versions module would be stronger, but Maven Central is not
reachable from where this project is developed, so they could not be computed.
"""

from __future__ import annotations

import hashlib
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

_TIMEOUT_S = 120


class ChecksumMismatchError(RuntimeError):
    """The downloaded jar is not the one the repository's checksum describes."""


def jar_url(repository: str, coordinate: str) -> str:
    """Maven layout: group dots become slashes, then artifact/version/artifact-version.jar."""
    group, artifact, version = coordinate.split(":")
    return f"{repository.rstrip('/')}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"


def _read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        return response.read()


def fetch(repository: str, coordinate: str, destination: Path) -> Path:
    """Download one jar into `destination` after checking its SHA-1 against the repository's `.sha1`."""
    url = jar_url(repository, coordinate)
    content = _read(url)
    published = _read(f"{url}.sha1").decode().split()[0].lower()
    actual = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    if actual != published:
        raise ChecksumMismatchError(f"{coordinate}: sha1 {actual} but {url}.sha1 says {published}")
    target = destination / url.rsplit("/", 1)[1]
    target.write_bytes(content)
    return target


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3:
        print(f"usage: {Path(__file__).name} REPOSITORY_URL DEST_DIR group:artifact:version ...", file=sys.stderr)
        return 2
    repository, destination, *coordinates = argv
    for coordinate in coordinates:
        print(f"fetched {fetch(repository, coordinate, Path(destination))} (sha1 verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
