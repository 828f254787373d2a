"""Reading the deployment files as their tools would: docs/operations.md's steps, the Dockerfile's
instructions, compose.yaml with its ${VAR} interpolation, the systemd unit, the example TOML."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
UNIT = ROOT / "deploy" / "deskhand.service"
EXAMPLE = ROOT / "deploy" / "deskhand.example.toml"
STEPS = "<!-- deploy steps:"


def doc_steps() -> tuple[dict[str, str], list[list[str]]]:
    """The variables the doc's steps export, and their `deskhand ...` commands in order."""
    block = DOC.read_text().split(STEPS, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    exports: dict[str, str] = {}
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            exports[name] = value
        elif words:
            commands.append(words)
    return exports, commands


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            out = []
        out.append((word.upper(), rest.strip()))
    return out


def dockerfile_build_stage_copies() -> list[str]:
    text = DOCKERFILE.read_text().split("\nFROM ", 2)[1]
    return [w for line in text.splitlines() if line.startswith("COPY ")
            for w in line.split()[1:-1] if not w.startswith("--")]


def docker_cmd() -> list[str]:
    (cmd,) = [json.loads(rest) for word, rest in dockerfile() if word == "CMD"]
    return list(cmd)


def docker_healthcheck() -> list[str]:
    (rest,) = [rest for word, rest in dockerfile() if word == "HEALTHCHECK"]
    return list(json.loads(rest.split(" CMD ", 1)[1]))


def docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(rest))  # type: ignore[misc]
    return env


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} with `variables` as the .env file."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise KeyError(f"compose needs {name}: {arg}")
        return arg if op == ":-" else ""
    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


def unit_values(key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text().splitlines()
            if line.startswith(f"{key}=")]


def example_keys() -> list[str]:
    """Every key of the example file, the commented-out ones (`# key = value`) included."""
    return re.findall(r"^(?:# )?([a-z0-9_]+) = ", EXAMPLE.read_text(), flags=re.MULTILINE)


def fill(text: str, values: dict[str, object]) -> str:
    """The example file as an operator fills it: each key's line given a value (a commented-out
    line uncommented), or added at the end."""
    for key, value in values.items():
        line = f"{key} = {json.dumps(value)}"  # a JSON string or number is a TOML one too
        text, found = re.subn(rf"^(?:# )?{key} = .*$", line.replace("\\", "\\\\"), text, count=1,
                              flags=re.MULTILINE)
        if not found:
            text += f"\n{line}\n"
    return text
