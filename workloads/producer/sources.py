"""Where profiles come from: the randomuser.me API, or a seeded synthetic generator.

Both yield randomuser-shaped dictionaries, so one transformation serves both and the synthetic
source exercises exactly the code path the API does. The fallback wrapper switches to synthetic
profiles when the API stays unreachable, so the pipeline never stalls on a third-party service.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from workloads.producer.retry import backoff_delays, call_with_retries

log = logging.getLogger(__name__)

RANDOMUSER = "randomuser"
SYNTHETIC = "synthetic"
RANDOMUSER_MAX_RESULTS = 5000  # the API's documented per-request limit

Profile = Any  # one entry of the API's `results`, shape unchecked: the transformation vets it


@dataclass(frozen=True)
class Batch:
    """Profiles from one source; `source` ends up in every event's `source` field."""

    source: str
    profiles: list[Profile]


class ProfileSource(Protocol):
    def fetch(self, count: int) -> Batch: ...


class SourceUnavailableError(Exception):
    """The source failed every attempt; the caller decides whether to fall back."""


class MalformedResponseError(Exception):
    """The API answered, but not with a randomuser result set."""


def parse_randomuser_response(body: bytes) -> list[Profile]:
    """The `results` of a randomuser response; MalformedResponseError for anything else.

    Individual profiles are not checked here: a broken profile is rejected (and counted) by the
    transformation, while a broken response is retried as a whole.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedResponseError(f"response is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise MalformedResponseError(f"expected a JSON object, got {type(document).__name__}")
    if "error" in document:
        raise MalformedResponseError(f"API reported an error: {document['error']!r}")
    results = document.get("results")
    if not isinstance(results, list) or not results:
        raise MalformedResponseError("response has no non-empty 'results' list")
    return results


def with_results(url: str, count: int) -> str:
    """The API URL asking for `count` profiles, keeping any query the operator configured."""
    parts = urllib.parse.urlsplit(url)
    query = [(name, value) for name, value in urllib.parse.parse_qsl(parts.query) if name != "results"]
    query.append(("results", str(count)))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class RandomUserSource:
    """Batches from the randomuser API, each request retried with backoff and jitter."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float,
        retries: int,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 10.0,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._rng = rng or random.Random()

    def fetch(self, count: int) -> Batch:
        url = with_results(self._url, min(count, RANDOMUSER_MAX_RESULTS))
        delays = backoff_delays(self._retries, self._backoff_base_s, self._backoff_cap_s, self._rng)
        try:
            profiles = call_with_retries(
                lambda: self._get(url),
                what=f"GET {url}",
                delays=delays,
                retry_on=(OSError, http.client.HTTPException, MalformedResponseError),
                sleep=self._sleep,
            )
        except (OSError, http.client.HTTPException, MalformedResponseError) as error:
            raise SourceUnavailableError(
                f"randomuser API unavailable after {self._retries + 1} attempts: {error}"
            ) from error
        return Batch(RANDOMUSER, profiles)

    def _get(self, url: str) -> list[Profile]:
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "streamstack"})
        with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
            return parse_randomuser_response(response.read())


_FIRST_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ivo", "Jun", "Kofi", "Lena")
_LAST_NAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Keller", "Rossi", "Walsh")
_PLACES = (
    ("Lyon", "Auvergne-Rhône-Alpes", "France", "FR"),
    ("Porto", "Porto", "Portugal", "PT"),
    ("Graz", "Steiermark", "Austria", "AT"),
    ("Aarhus", "Midtjylland", "Denmark", "DK"),
    ("Leeds", "West Yorkshire", "United Kingdom", "GB"),
    ("Austin", "Texas", "United States", "US"),
)
# Registration days over twenty years from 2005, formatted once: the profile only adds the time of day.
_REGISTRATION_DAYS = tuple(f"{datetime(2005, 1, 1, tzinfo=UTC) + timedelta(days=day):%Y-%m-%d}" for day in range(7305))
_HANDLES = {(first, last): f"{first}.{last}".lower() for first in _FIRST_NAMES for last in _LAST_NAMES}


def _pick(rng: random.Random, count: int) -> int:
    """An index below `count` from one `random()` call: several times cheaper than `choice`/`randrange`,
    which draw bits in Python, and just as reproducible from the seed."""
    return int(rng.random() * count)


def _uuid4(rng: random.Random) -> str:
    """A version-4 UUID from `rng` (RFC 4122 layout), formatted without building a UUID object."""
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[int(text[16], 16) & 3]}{text[17:20]}-{text[20:]}"


def synthetic_profile(rng: random.Random) -> dict[str, Any]:
    """One randomuser-shaped profile drawn from `rng` only, so a seed reproduces the stream."""
    first, last = _FIRST_NAMES[_pick(rng, len(_FIRST_NAMES))], _LAST_NAMES[_pick(rng, len(_LAST_NAMES))]
    city, state, country, nationality = _PLACES[_pick(rng, len(_PLACES))]
    hour, minute, second, millisecond = _pick(rng, 24), _pick(rng, 60), _pick(rng, 60), _pick(rng, 1000)
    registered = (
        f"{_REGISTRATION_DAYS[_pick(rng, len(_REGISTRATION_DAYS))]}T{hour:02}:{minute:02}:{second:02}.{millisecond:03}Z"
    )
    handle = f"{_HANDLES[first, last]}{_pick(rng, 1000)}"
    return {
        "gender": "female" if rng.random() < 0.5 else "male",
        "name": {"first": first, "last": last},
        "location": {
            "city": city,
            "state": state,
            "country": country,
            "postcode": f"{10000 + _pick(rng, 89999)}",
            "coordinates": {"latitude": f"{rng.uniform(-90, 90):.4f}", "longitude": f"{rng.uniform(-180, 180):.4f}"},
        },
        "email": f"{handle}@example.com",
        "login": {"uuid": _uuid4(rng), "username": handle},
        "dob": {"age": 18 + _pick(rng, 73)},
        "registered": {"date": registered},
        "nat": nationality,
    }


class SyntheticSource:
    """Offline profiles, deterministic for a given seed."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def fetch(self, count: int) -> Batch:
        return Batch(SYNTHETIC, [synthetic_profile(self._rng) for _ in range(count)])


class FallbackSource:
    """The primary source while it works; the fallback for a while after it stops working."""

    def __init__(
        self,
        primary: ProfileSource,
        fallback: ProfileSource,
        *,
        retry_primary_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._retry_primary_after_s = retry_primary_after_s
        self._clock = clock
        self._fallback_until: float | None = None

    def fetch(self, count: int) -> Batch:
        now = self._clock()
        if self._fallback_until is None or now >= self._fallback_until:
            try:
                batch = self._primary.fetch(count)
            except SourceUnavailableError as error:
                log.warning("%s; using the fallback source for %.0fs", error, self._retry_primary_after_s)
                self._fallback_until = now + self._retry_primary_after_s
            else:
                if self._fallback_until is not None:
                    log.info("primary source is back")
                self._fallback_until = None
                return batch
        return self._fallback.fetch(count)
