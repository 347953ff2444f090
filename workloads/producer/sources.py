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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

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
# Everything that does not vary per person is built once: a person only draws indices into these tables.
_PEOPLE = tuple((first, last, f"{first}.{last}".lower()) for first in _FIRST_NAMES for last in _LAST_NAMES)
_REGISTRATION_DAYS = tuple(f"{datetime(2005, 1, 1, tzinfo=UTC) + timedelta(days=day):%Y-%m-%d}" for day in range(7305))
_MINUTES_OF_DAY = tuple(f"{hour:02}:{minute:02}" for hour in range(24) for minute in range(60))
_HANDLE_SUFFIXES = range(1000)
_UUID4_VARIANTS = "89ab"


T = TypeVar("T")


@dataclass(frozen=True)
class _Person:
    """What synthetic users draw from: the parts of a randomuser profile other than the login and e-mail."""

    parts: dict[str, Any]
    handle: str


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """One of `options` from one `random()` call: several times cheaper than `choice`, which draws bits in
    Python, and just as reproducible from the seed."""
    return options[int(rng.random() * len(options))]


def _synthetic_person(rng: random.Random) -> _Person:
    first, last, handle = _pick(rng, _PEOPLE)
    city, state, country, nationality = _pick(rng, _PLACES)
    registered = (
        f"{_pick(rng, _REGISTRATION_DAYS)}T{_pick(rng, _MINUTES_OF_DAY)}:"
        f"{_pick(rng, range(60)):02}.{_pick(rng, range(1000)):03}Z"
    )
    parts = {
        "gender": "female" if rng.random() < 0.5 else "male",
        "name": {"first": first, "last": last},
        "location": {
            "city": city,
            "state": state,
            "country": country,
            "postcode": str(_pick(rng, range(10000, 99999))),
            "coordinates": {
                "latitude": f"{rng.random() * 180 - 90:.4f}",
                "longitude": f"{rng.random() * 360 - 180:.4f}",
            },
        },
        "dob": {"age": _pick(rng, range(18, 91))},
        "registered": {"date": registered},
        "nat": nationality,
    }
    return _Person(parts, handle)


class SyntheticSource:
    """Offline randomuser-shaped profiles, deterministic for a given seed.

    Every profile is a new user, with its own login uuid, username and e-mail, over one of `people` persons
    drawn from the seed when the source is made (name, place, coordinates, age, registration). Drawing
    every part anew for each profile cost a third of the producer's whole loop; now a profile costs a uuid
    and two strings. Profiles share their person's nested dictionaries, so they are read-only, as the
    transformation treats them.
    """

    def __init__(self, seed: int, people: int = 4096) -> None:
        self._rng = random.Random(seed)
        self._people = [_synthetic_person(self._rng) for _ in range(people)]

    def fetch(self, count: int) -> Batch:
        return Batch(SYNTHETIC, [self._profile() for _ in range(count)])

    def _profile(self) -> dict[str, Any]:
        """A version-4 login uuid (RFC 4122 layout) formatted from 128 random bits, without a UUID object."""
        rng = self._rng
        person = _pick(rng, self._people)
        username = f"{person.handle}{_pick(rng, _HANDLE_SUFFIXES)}"
        bits = rng.getrandbits(128)
        hex_bits = f"{bits:032x}"
        login_uuid = (
            f"{hex_bits[:8]}-{hex_bits[8:12]}-4{hex_bits[13:16]}-"
            f"{_UUID4_VARIANTS[bits >> 62 & 3]}{hex_bits[17:20]}-{hex_bits[20:]}"
        )
        return {**person.parts, "email": f"{username}@example.com", "login": {"uuid": login_uuid, "username": username}}


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
