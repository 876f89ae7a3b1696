"""Loading a stage's config from YAML plus `--set key=value` overrides, with one-line errors.

The same pydantic models are the CLI's configs, the YAML presets' sections and the Prefect flows' parameters.
Every one of them is a `StrictConfig`: a key it does not have, at any depth, is an error that names the key and
the closest key it does have, e.g. `unknown config key 'dedupe.threshold' (did you mean 'dedup.threshold'?)`,
whether the key came from a YAML file, `--set` or a flow parameter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from stages.core.config_help import LIST_ITEMS, ConfigKey, accepts_mapping, config_keys, type_name
from stages.core.errors import UserError

Model = TypeVar("Model", bound=BaseModel)

UNKNOWN_KEY_ERROR = "unknown_config_key"
EXTRA_FORBIDDEN_ERROR = "extra_forbidden"
MAX_SUGGESTIONS = 3
LIST_INDEX = re.compile(r"\[\d+\]")


class ConfigError(UserError):
    """A config file or override that cannot be used; its message fits on one line."""


class StrictConfig(BaseModel):
    """Base of every config a user writes (YAML, `--set`, flow parameters): immutable, and strict, so a misspelt
    or misplaced key fails with the closest valid key instead of silently leaving a default in place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, values: Any) -> Any:
        if isinstance(values, dict):
            accepted = set(cls.model_fields) | {
                field.alias for field in cls.model_fields.values() if field.alias
            }
            unknown = [key for key in values if key not in accepted]
            if unknown:
                described = [describe_unknown_key(cls, (), key, values[key]) for key in unknown]
                raise PydanticCustomError(
                    UNKNOWN_KEY_ERROR,
                    "{message}",
                    {"message": join_unknown(described), "keys": tuple(unknown)},
                )
        return values


def dotted(location: Sequence[str | int]) -> str:
    """`('rules', 2, 'name')` → `rules[2].name`."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def unknown_key_path(parent: Sequence[str | int], key: Any, value: Any) -> str:
    """The dotted key a user wrote: an unknown section holding a single key is named down to that key
    (`dedupe: {threshold: 0.5}` → `dedupe.threshold`), so the suggestion can be the full valid key."""
    parts: list[str | int] = [*parent, str(key)]
    while isinstance(value, dict) and len(value) == 1:
        ((child, value),) = value.items()
        parts.append(str(child))
    return dotted(parts)


def closest_sibling(part: str, siblings: list[str]) -> str | None:
    """The sibling `part` most likely misspells (`treshold` → `threshold`), or abbreviates (`loss` → `loss_type`)."""
    close = difflib.get_close_matches(part, siblings, n=1, cutoff=0.7)
    if close:
        return close[0]
    return next((sibling for sibling in siblings if len(part) >= 3 and sibling.startswith(part)), None)


def suggest_keys(unknown: str, keys: Sequence[str]) -> list[str]:
    """The valid keys closest to `unknown` (dotted, list indices as `[]`): each misspelt part repaired among
    its siblings (`dedupe.treshold` → `dedup.threshold`); else, for a key in the wrong section or written flat,
    the keys with the same ending anywhere (`clean.threshold` or `threshold` → `dedup.threshold`)."""
    known = set(keys)
    parts = LIST_INDEX.sub(LIST_ITEMS, unknown).split(".")
    repaired: list[str] = []
    for index, part in enumerate(parts):
        prefix = ".".join(repaired)
        candidate = f"{prefix}.{part}" if prefix else part
        if candidate not in known:
            depth = len(repaired)
            siblings = {
                key.split(".")[depth]
                for key in keys
                if key.count(".") >= depth and (not prefix or key.startswith(prefix + "."))
            }
            close = closest_sibling(part, sorted(siblings))
            if close is None:
                by_ending = suggest_by_ending(".".join(parts[index:]), keys, prefix)
                # `dedupe.x`: no key `x` anywhere, but the section was misspelt.
                return by_ending or ([prefix] if repaired != parts[:index] else [])
            part = close
        repaired.append(part)
    whole = ".".join(repaired)
    return [whole] if whole in known else []


def suggest_by_ending(tail: str, keys: Sequence[str], prefix: str) -> list[str]:
    """Keys ending in `tail` (else in a part close to its last one), those under `prefix` first."""
    matches = [key for key in keys if key == tail or key.endswith("." + tail)]
    if not matches:
        last = tail.rsplit(".", 1)[-1]
        endings = sorted({key.rsplit(".", 1)[-1] for key in keys})
        close = difflib.get_close_matches(last, endings, n=1, cutoff=0.8)
        matches = [key for key in keys if close and key.rsplit(".", 1)[-1] == close[0]]
    matches.sort(key=lambda key: (not key.startswith(prefix + ".") if prefix else False, key.count("."), key))
    return matches[:MAX_SUGGESTIONS]


def describe_unknown_key(
    model: type[BaseModel], parent: Sequence[str | int], key: Any, value: Any, prefix: str = ""
) -> str:
    """`'dedupe.threshold' (did you mean 'dedup.threshold'?)` for an unknown `key` under `parent` in `model`
    (which sits in section `prefix` of its file, when it does)."""
    unknown = unknown_key_path(parent, key, value)
    keys = config_keys(model, f"{prefix}." if prefix else "")
    suggestions = suggest_keys(unknown, [entry.key for entry in keys])
    if not suggestions:
        return repr(unknown)
    return f"{unknown!r} (did you mean {' or '.join(repr(suggestion) for suggestion in suggestions)}?)"


def join_unknown(described: list[str]) -> str:
    noun = "key" if len(described) == 1 else "keys"
    return f"unknown config {noun} {', '.join(described)}"


def find_key(keys: list[ConfigKey], location: Sequence[str | int]) -> ConfigKey | None:
    wanted = LIST_INDEX.sub(LIST_ITEMS, dotted(location))
    return next((entry for entry in keys if entry.key == wanted), None)


def unknown_keys_in(error: ValidationError, model: type[BaseModel] | None, prefix: str) -> list[str]:
    """The unknown keys an error reports (from `extra="forbid"` or `StrictConfig`), described against the
    whole `model` (so a key in the wrong section finds its right one), in the order pydantic found them."""
    described: list[str] = []
    for detail in error.errors():
        location = [*([prefix] if prefix else []), *detail["loc"]]
        if detail["type"] == EXTRA_FORBIDDEN_ERROR:
            found = [(location[:-1], location[-1], detail["input"])]
        elif detail["type"] == UNKNOWN_KEY_ERROR and isinstance(detail["input"], dict):
            keys = (detail.get("ctx") or {}).get("keys", ())
            found = [(location, key, detail["input"].get(key)) for key in keys]
        else:
            continue
        for parent, key, value in found:
            if model is None:
                described.append(repr(unknown_key_path(parent, key, value)))
            else:
                described.append(describe_unknown_key(model, parent, key, value, prefix))
    return described


def setting_used_as_section(detail: Any, keys: list[ConfigKey], prefix: str) -> str | None:
    """`demo_docs.x=1` (YAML or `--set`): a mapping given to a setting that takes a single value."""
    value = detail["input"]
    if not isinstance(value, dict) or not value:
        return None
    location = [*([prefix] if prefix else []), *detail["loc"]]
    # The location itself, or its parent when pydantic added a union member's tag (`str`, `int`...).
    for candidate in (location, location[:-1]):
        entry = find_key(keys, candidate) if candidate else None
        if entry is not None:
            break
    else:
        return None
    if entry.section is not None or accepts_mapping(entry.annotation):
        return None
    first = next(iter(value))
    written = unknown_key_path(candidate, first, value[first])
    return (
        f"unknown config key {written!r}: {dotted(candidate)!r} is a setting ({type_name(entry.annotation)}), "
        "not a section"
    )


def validation_message(error: ValidationError, model: type[BaseModel] | None = None, prefix: str = "") -> str:
    """One line for a validation error: every unknown key with its closest valid key when there are any,
    else the first error (with how many more). `prefix`: the section `model` sits in, for the keys shown."""
    unknown = unknown_keys_in(error, model, prefix)
    count = error.error_count()
    if unknown:
        others = count - sum(
            1 for detail in error.errors() if detail["type"] in (EXTRA_FORBIDDEN_ERROR, UNKNOWN_KEY_ERROR)
        )
        return join_unknown(unknown) + (f" (and {others} more)" if others else "")
    first = error.errors()[0]
    more = f" (and {count - 1} more)" if count > 1 else ""
    if model is not None:
        misplaced = setting_used_as_section(first, config_keys(model, f"{prefix}." if prefix else ""), prefix)
        if misplaced:
            return misplaced + more
    location = dotted([*([prefix] if prefix else []), *first["loc"]]) or "config"
    return f"{location}: {first['msg']}{more}"


def build_config(
    model: type[Model], values: dict[str, Any], what: str = "config", section: str | None = None
) -> Model:
    """Validate `values` as `model`; a `ConfigError` with one line otherwise. `section`: where `values` sit in
    the file they came from, so the keys an error names are the file's."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        message = validation_message(error, model, section or "")
        if message.startswith("unknown config key"):
            raise ConfigError(message) from error
        raise ConfigError(f"invalid {what}: {message}") from error


def yaml_error_message(source: str, error: yaml.YAMLError) -> str:
    """`FILE:LINE:COLUMN: not valid YAML: PROBLEM (CONTEXT at LINE:COLUMN)`, lines and columns from 1."""
    mark = getattr(error, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} at {context_mark.line + 1}:{context_mark.column + 1})"
    elif context:
        problem += f" ({context})"
    return f"{where}: not valid YAML: {problem}"


class StrictLoader(yaml.SafeLoader):
    """`yaml.safe_load`, except that a key written twice in one mapping is an error at its second place: YAML
    would silently keep the last value, and a user editing the first one would see no effect."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: SafeLoader reports it itself below
            if key in seen:
                first = seen[key]
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice in one mapping (first at {first.line + 1}:{first.column + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file; a `ConfigError` naming FILE:LINE:COLUMN for a syntax error or a
    duplicate key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        loaded = yaml.load(path.read_text(), Loader=StrictLoader) or {}  # StrictLoader is a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(yaml_error_message(str(path), error)) from error
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `a.b=value` overrides; values are parsed as YAML scalars/lists (`0.7`, `true`, `[en, fr]`).
    A key path through a value that is not a mapping (`dedup.threshold.x=1` over `threshold: 0.8`) is an error."""
    result = dict(values)
    for override in overrides:
        key, separator, raw = override.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not separator or not key or not all(part.strip() for part in parts):
            raise ConfigError(f"--set expects key=value (key like a.b.c), got {override!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ConfigError(f"--set {key}: cannot parse value {raw!r} as YAML ({problem})") from error
        target = result
        for depth, part in enumerate(parts[:-1]):
            child = target.get(part)
            if child is not None and not isinstance(child, dict):
                path = ".".join(parts[: depth + 1])
                raise ConfigError(
                    f"--set {key}: {path!r} is set to {child!r}, not a section, so it has no key {parts[depth + 1]!r}"
                )
            child = dict(child) if isinstance(child, dict) else {}
            target[part] = child
            target = child
        target[parts[-1]] = value
    return result


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
    return build_config(
        model, apply_overrides(values, overrides or []), what=section or "config", section=section
    )
