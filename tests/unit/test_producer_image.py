"""The producer image definition stays consistent with the repository's layout (pins: test_image_requirements.py)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCER = REPO / "workloads" / "producer"


def test_base_image_is_a_build_argument_without_a_default():
    dockerfile = (PRODUCER / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE$", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.MULTILINE)


def test_image_runs_as_a_non_root_user_and_starts_the_producer():
    dockerfile = (PRODUCER / "Dockerfile").read_text()
    [user] = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user not in {"root", "0"}
    # Callers pass a whole command line (`python -m workloads.producer --count N`), so no ENTRYPOINT.
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.MULTILINE)
    assert 'CMD ["python", "-m", "workloads.producer"]' in dockerfile


def test_every_copied_path_exists_relative_to_the_repository_root():
    dockerfile = (PRODUCER / "Dockerfile").read_text()
    sources = [match.split()[0] for match in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE)]
    assert sources == [
        "workloads/producer/requirements.txt",
        "workloads/__init__.py",
        "workloads/health.py",
        "workloads/contract/",
        "workloads/producer/",
        "workloads/connect/",
    ]
    assert all((REPO / source).exists() for source in sources)
