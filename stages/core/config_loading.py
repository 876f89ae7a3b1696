"""Loading a stage's config from YAML plus `--set key=value` overrides, with one-line errors.

The same pydantic models are the CLI's configs, the YAML presets' sections and the Prefect flows' parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A config file or override that cannot be used; its message fits on one line."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from error
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b=value` overrides; values are parsed as YAML scalars/lists (`0.7`, `true`, `[en, fr]`)."""
    result = dict(values)
    for override in overrides:
        key, separator, raw = override.partition("=")
        if not separator or not key.strip():
            raise ConfigError(f"--set expects key=value, got {override!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as error:
            raise ConfigError(f"--set {key}: cannot parse value {raw!r}") from error
        target = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = target.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            target[part] = child
            target = child
        target[parts[-1]] = value
    return result


def validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "config"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{location}: {first['msg']}{more}"


def build_config(model: type[Model], values: dict[str, Any], what: str = "config") -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(f"invalid {what}: {validation_message(error)}") from error


def load_config(
    model: type[Model],
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    section: str | None = None,
) -> Model:
    """Build `model` from an optional YAML file (or one `section` of it) and overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        values = read_yaml(path)
        if section is not None:
            values = values.get(section) or {}
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: section {section!r} must be a mapping")
    return build_config(model, apply_overrides(values, overrides or []), what=section or "config")
