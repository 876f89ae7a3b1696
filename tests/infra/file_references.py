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


def shell_segments(command: str) -> list[list[str]]:
    """The words of each simple command in a shell line, split at `&&`, `||` and `;` outside quotes."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    segments: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";"):
            segments.append([])
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def pip_install_steps(commands: list[str]) -> list[list[str]]:
    """What each `pip install` / `uv pip install` in shell commands installs, quiet flags and the choice of
    interpreter left out; a fallback (`uv pip install X || pip install X`) is one step."""
    steps: list[list[str]] = []
    for command in commands:
        for words in shell_segments(command):
            if "pip" not in words or "install" not in words:
                continue
            arguments, skip_next = [], False
            for word in words[words.index("install") + 1 :]:
                if skip_next:
                    skip_next = False
                elif word == "--python":
                    skip_next = True
                elif word not in ("-q", "--quiet", "--system"):
                    arguments.append(word)
            if not steps or steps[-1] != arguments:
                steps.append(arguments)
    return steps


def makefile_recipe(target_pattern: str) -> list[str]:
    """The recipe lines (tab-indented) of the first Makefile rule whose target matches `target_pattern`."""
    lines = re.sub(r"\\\n\s*", " ", (REPO_ROOT / "Makefile").read_text()).splitlines()  # continuations joined
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
