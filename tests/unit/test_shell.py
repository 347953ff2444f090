"""The test helper that lists the commands a script runs: what it must see, and what it must not."""

from __future__ import annotations

import pytest

from tests.unit.shell import command_words, python_snippets


@pytest.mark.parametrize(
    ("script", "commands"),
    [
        ('test -n "$(find /tmp/x -mmin -2 2>/dev/null)"', ["find"]),
        ("bash -c '</dev/tcp/127.0.0.1/9042'", ["bash"]),
        ('HEAP="-Xmx96m" /opt/kafka/bin/kafka-topics.sh --list > /dev/null', ["/opt/kafka/bin/kafka-topics.sh"]),
        ("set -eu; a && b || c | d; exec e", ["a", "b", "c", "d", "e"]),
        ("for i in $(seq 1 3); do\n  sleep 1\ndone", ["sleep", "seq"]),
        ('case "$x" in *True*) yes -e y ;; *) no ;; esac; after', ["yes", "no", "after"]),
        ("if [ ! -f v ]; then echo formatting; fmt || exit 1; fi; exec run", ["fmt", "run"]),
        ("sh -c 'inner --flag'", ["sh", "inner"]),
    ],
)
def test_command_words(script: str, commands: list[str]) -> None:
    assert command_words(script) == commands


def test_python_snippets() -> None:
    script = "python3 -c \"import sys; sys.exit(0)\" && python -c 'print(1)'"
    assert python_snippets(script) == ["import sys; sys.exit(0)", "print(1)"]
