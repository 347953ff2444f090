"""The commands a shell script runs, so tests can hold them against the tools an image has.

Enough of POSIX sh for the scripts this project writes: pipelines and lists, `if`/`for`/`while`,
`$(...)` substitutions (also inside double quotes), redirections, leading `VAR=value` assignments,
`exec` and nested `bash -c '...'` / `sh -c '...'` scripts. Builtins are not commands.
"""

from __future__ import annotations

import shlex

KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "esac", "!", "{", "}"})
BUILTINS = frozenset(
    {"[", "test", "echo", "exit", "set", "cd", "true", "false", ":", "export", "break", "continue", "return", "."}
)
SEPARATORS = frozenset({"|", "||", "&&", ";", "&", "(", ")", ";;"})
REDIRECTIONS = frozenset({"<", ">", ">>", "<&", ">&", "<>", ">|", "&>"})
SHELLS = frozenset({"sh", "bash", "/bin/sh", "/bin/bash"})


def _substitutions(script: str) -> tuple[str, list[str]]:
    """`script` with every `$(...)` replaced by a word, and the substituted scripts."""
    inner: list[str] = []
    out: list[str] = []
    index = 0
    while index < len(script):
        if script.startswith("$(", index):
            depth, end = 1, index + 2
            while depth and end < len(script):
                depth += {"(": 1, ")": -1}.get(script[end], 0)
                end += 1
            inner.append(script[index + 2 : end - 1])
            out.append("SUBSTITUTED")
            index = end
        else:
            out.append(script[index])
            index += 1
    return "".join(out), inner


def _line_commands(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[str] = []
    words: list[str] = []
    at_command, skip_next, skipping = True, False, ""  # skipping: "for" list, "case" word or pattern
    for token in lexer:
        if skip_next:
            skip_next = False
            continue
        if skipping == "case" and token == "in":
            skipping = "pattern"
            continue
        if skipping == "pattern":
            if token == "esac":
                skipping = ""
            elif token == ")":
                skipping, at_command = "", True
            continue
        if token in SEPARATORS:
            if skipping == "for":
                skipping = ""
            elif token == ";;":
                skipping = "pattern"  # the next pattern of a case
            at_command = True
            _nested(words, commands)
            words = []
            continue
        if token in REDIRECTIONS or (token.endswith((">", "<")) and set(token) <= set("<>&|0123456789")):
            skip_next = True
            continue
        if skipping:
            continue
        if at_command:
            if token in KEYWORDS:
                continue
            if token in {"for", "case"}:
                skipping = token
                continue
            if "=" in token and token.split("=", 1)[0].isidentifier():
                continue
            if token == "exec":
                continue
            at_command = False
            if token not in BUILTINS:
                commands.append(token)
            words = [token]
            continue
        words.append(token)
    _nested(words, commands)
    return commands


def _nested(words: list[str], commands: list[str]) -> None:
    """A `sh -c SCRIPT` or `bash -c SCRIPT` runs SCRIPT's commands too."""
    if len(words) >= 3 and words[0] in SHELLS and words[1] == "-c":
        commands.extend(command_words(words[2]))


def command_words(script: str) -> list[str]:
    """Every command `script` may run, in order, each named as written (a name or a path)."""
    flat, inner = _substitutions(script)
    found: list[str] = []
    for line in flat.splitlines():
        found += _line_commands(line)
    for nested in inner:
        found += command_words(nested)
    return found


def python_snippets(script: str) -> list[str]:
    """The code of every `python3 -c CODE` / `python -c CODE` in `script`."""
    snippets: list[str] = []
    flat, inner = _substitutions(script)
    for line in flat.splitlines():
        words = shlex.split(line)
        snippets += [
            words[i + 2] for i, word in enumerate(words[:-2]) if word in {"python3", "python"} and words[i + 1] == "-c"
        ]
    for nested in inner:
        snippets += python_snippets(nested)
    return snippets
