"""Every infra and observability file names only paths that exist in the repository and only `lmforge` command
lines the real CLI parser accepts, with configs that load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.file_references import (
    INFRA,
    REPO_ROOT,
    check_lmforge_command,
    lmforge_commands_in,
    repository_paths_in,
)

REFERRING_FILES = sorted(
    [path for path in INFRA.rglob("*") if path.is_file()]
    + [REPO_ROOT / "dashboards" / "prometheus" / "prometheus.yml"]
    + sorted((REPO_ROOT / "dashboards" / "grafana" / "provisioning").rglob("*.yaml"))
)


def relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


@pytest.mark.parametrize("path", REFERRING_FILES, ids=relative)
def test_every_repository_path_a_file_names_exists(path: Path) -> None:
    for named in repository_paths_in(path.read_text()):
        assert (REPO_ROOT / named).exists(), f"{relative(path)} names {named}, which does not exist"


def lmforge_command_lines() -> list[tuple[str, list[str]]]:
    return [
        (relative(path), arguments)
        for path in REFERRING_FILES
        for arguments in lmforge_commands_in(path.read_text())
    ]


@pytest.mark.parametrize(("source", "arguments"), lmforge_command_lines(), ids=lambda value: str(value)[:50])
def test_every_lmforge_command_line_parses_and_its_config_loads(source: str, arguments: list[str]) -> None:
    check_lmforge_command(arguments)


def test_the_checks_catch_a_bad_command_and_a_missing_path() -> None:
    with pytest.raises(SystemExit):
        check_lmforge_command(["run", "--confg", "configs/demo.yaml"])
    with pytest.raises(AssertionError, match="not in the repository"):
        check_lmforge_command(["run", "--config", "/opt/lmforge/configs/nope.yaml"])
    with pytest.raises(Exception, match="pretrain"):
        check_lmforge_command(["run", "--config", "configs/demo.yaml", "--set", "pretrain.use_gpus=true"])
    assert repository_paths_in("see ../../configs/nope.yaml and /var/lib/grafana/dashboards/x") == {
        "configs/nope.yaml"
    }


def test_commands_are_found_in_comments_and_continuations() -> None:
    text = "#   RAY_ADDRESS=x ray job submit -- lmforge run --config a.yaml \\\n#       --output /data/r  # note\n"
    assert lmforge_commands_in(text) == [["run", "--config", "a.yaml", "--output", "/data/r"]]
