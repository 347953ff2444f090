"""Resolve every upstream image's tag to its manifest digest and record it in components/image-digests.json.

    python -m tools.pin_digests        (make pin-digests; needs the registries, which CI cannot reach)

Asks each registry with the Docker Registry HTTP API v2: a HEAD on /v2/<repository>/manifests/<tag>
accepting manifest lists and OCI indexes (the multi-architecture digest), answering the registry's
Bearer challenge with an anonymous pull token first. Targets then pull `tag@sha256:...`: the exact image
these facts were read from, even if the tag is moved. Run it when components/versions.py changes a tag.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from components.image_facts import DIGESTS_FILE
from components.versions import UPSTREAM

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT_S = 20


@dataclass(frozen=True)
class Reference:
    registry: str  # host[:port] of the registry's API
    repository: str
    tag: str

    @classmethod
    def parse(cls, reference: str) -> Reference:
        """`cassandra:4.1` -> registry-1.docker.io, library/cassandra, 4.1; `ghcr.io/o/n:t` -> ghcr.io, o/n, t."""
        name, _, tag = reference.rpartition(":")
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return cls(first, rest, tag)
        return cls("registry-1.docker.io", name if rest else f"library/{name}", tag)


Opener = Callable[[urllib.request.Request], object]


def _open(request: urllib.request.Request) -> object:
    return urllib.request.urlopen(request, timeout=TIMEOUT_S)


def resolve(reference: Reference, scheme: str = "https", opener: Opener = _open) -> str:
    """The digest the registry serves for the reference's tag."""
    url = f"{scheme}://{reference.registry}/v2/{reference.repository}/manifests/{reference.tag}"
    headers = {"Accept": ACCEPT}
    try:
        response = opener(urllib.request.Request(url, method="HEAD", headers=headers))
    except urllib.error.HTTPError as error:
        if error.code != 401:
            raise
        challenge = dict(_CHALLENGE.findall(error.headers.get("WWW-Authenticate", "")))
        query = urllib.parse.urlencode({key: challenge[key] for key in ("service", "scope") if key in challenge})
        with opener(urllib.request.Request(f"{challenge['realm']}?{query}")) as answer:  # type: ignore[attr-defined]
            document = json.load(answer)
        headers["Authorization"] = f"Bearer {document.get('token') or document['access_token']}"
        response = opener(urllib.request.Request(url, method="HEAD", headers=headers))
    digest = response.headers["Docker-Content-Digest"]  # type: ignore[attr-defined]
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest or ""):
        raise ValueError(f"{url}: no sha256 Docker-Content-Digest in the answer (got {digest!r})")
    return digest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    digests = {}
    for reference in sorted(UPSTREAM):
        try:
            digests[reference] = resolve(Reference.parse(reference))
        except (OSError, ValueError, KeyError) as error:
            print(f"error: {reference}: {error}", file=sys.stderr)
            return 1
        print(f"{reference}@{digests[reference]}")
    DIGESTS_FILE.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
