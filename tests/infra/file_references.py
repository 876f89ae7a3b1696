"""Reading what infra files refer to (repository paths, `lmforge` command lines, `pip install` steps) and checking
`lmforge` command lines with the real CLI parser and config models."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from flows.cli import build_parser
from flows.pipeline_config import load_pipeline_config

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"
IMAGE_CHECKOUT = "/opt/lmforge"
"""Where the Docker image (and the cluster configs' file mounts) put the checkout."""

TOP_LEVEL = ("configs", "infra", "dashboards", "alignment", "flows", "stages", "benchmarks")
REPOSITORY_PATH = re.compile(
    rf"(?<![\w./-])(?:{re.escape(IMAGE_CHECKOUT)}/|\.\./\.\./)?(?P<path>(?:{'|'.join(TOP_LEVEL)})/[\w./-]*\w)"
)
LMFORGE_COMMAND = re.compile(r"(?:^|[;&|]\s*|\s--\s+)(?P<command>lmforge\s+[^;&|#\n]+)")


def repository_paths_in(text: str) -> set[str]:
    """Repository-relative paths a file names: `configs/demo.yaml`, `/opt/lmforge/infra/...`, `../../dashboards/...`."""
    return {match["path"].rstrip(".") for match in REPOSITORY_PATH.finditer(text)}


def lmforge_commands_in(text: str) -> list[list[str]]:
    """Every `lmforge ...` command line (backslash continuations joined, comments' examples included)."""
    joined = re.sub(r"\\\n\s*#?\s*", " ", text)
    commands = []
    for line in joined.splitlines():
        line = line.lstrip("# ").strip()
        for match in LMFORGE_COMMAND.finditer(line):
            arguments = shlex.split(match["command"])
            commands.append(arguments[1:])
    return commands


def pip_install_steps(commands: list[str]) -> list[list[str]]:
    """The arguments of each `python -m pip install` / `pip install` in shell commands, quiet flags left out."""
    steps = []
    for command in commands:
        for part in re.split(r"&&|;", command):
            words = shlex.split(part)
            if "pip" not in words or "install" not in words:
                continue
            arguments = words[words.index("install") + 1 :]
            steps.append([word for word in arguments if word not in ("-q", "--quiet")])
    return steps


def makefile_recipe(target_pattern: str) -> list[str]:
    """The recipe lines (tab-indented) of the first Makefile rule whose target matches `target_pattern`."""
    lines = (REPO_ROOT / "Makefile").read_text().splitlines()
    recipe: list[str] = []
    inside = False
    for line in lines:
        if re.match(target_pattern, line):
            inside = True
            continue
        if inside:
            if not line.startswith("\t"):
                break
            recipe.append(line.strip())
    assert recipe, f"no Makefile rule matching {target_pattern}"
    return [re.sub(r"\$\(BIN\)/python", "python", line) for line in recipe]


def dockerfile_run_commands(path: Path) -> list[str]:
    """The shell command of each RUN instruction (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    return [line.strip()[4:] for line in text.splitlines() if line.strip().startswith("RUN ")]


def check_lmforge_command(arguments: list[str]) -> None:
    """Parse with the real CLI parser; a `--config` must exist in the checkout and, for `run`, load with its
    `--set` overrides (the pipeline config model validates every key)."""
    parsed = build_parser().parse_args(arguments)
    config = getattr(parsed, "config", None)
    if config is None:
        return
    local = REPO_ROOT / str(config).removeprefix(f"{IMAGE_CHECKOUT}/")
    assert local.is_file(), f"--config {config} is not in the repository"
    if parsed.command == "run":
        load_pipeline_config(local, parsed.set)
