"""Every key of a config model, read off the model itself: its dotted name (nested sections expanded), type,
default and a one-line description. `lmforge config NAME` prints them, and the "did you mean" of an unknown key
is chosen among them, so neither can drift from the models.

A key's description is its `Field(description=...)`, else its attribute docstring, else the comment just above
it, else its trailing comment in the source (the style most configs here use).
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import textwrap
import tokenize
import types
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

LIST_ITEMS = "[]"
"""Appended to a list-of-sections key in dotted names: `rules[].name` is the `name` of each item of `rules`."""
REQUIRED = "required"

# annotated_types / pydantic constraint attributes, in the order they are shown, with their symbols.
CONSTRAINTS = (
    ("gt", ">"),
    ("ge", ">="),
    ("lt", "<"),
    ("le", "<="),
    ("multiple_of", "multiple of "),
    ("min_length", "min length "),
    ("max_length", "max length "),
)


@dataclass(frozen=True)
class ConfigKey:
    """One key a user can set: `language.allowed_languages`, or a whole section such as `language`."""

    key: str
    annotation: Any
    default: Any  # PydanticUndefined: required, or computed by a factory that needs other fields
    description: str
    constraints: tuple[str, ...]
    section: type[BaseModel] | None  # the model a section holds (through Optional / list); None for a setting

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]


def section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The config model a field holds, through `Optional`, unions and `Annotated`, and whether it is a list of
    them; (None, False) for a plain setting."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return section_model(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for member in get_args(annotation):
            model, is_list = section_model(member)
            if model is not None:
                return model, is_list
        return None, False
    if origin in (list, tuple) and get_args(annotation):
        inner, _ = section_model(get_args(annotation)[0])
        return inner, inner is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def accepts_mapping(annotation: Any) -> bool:
    """Whether a value of this type may be a mapping (a section, a dict setting, or anything)."""
    if annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return accepts_mapping(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(accepts_mapping(member) for member in get_args(annotation))
    target = origin or annotation
    return isinstance(target, type) and (issubclass(target, BaseModel | Mapping) or target is dict)


def type_name(annotation: Any) -> str:
    """A short, YAML-minded name: `int`, `list[str]`, `"jsonl" | "json" | null`, `tuple[float, ...]`."""
    if annotation is type(None) or annotation is None:
        return "null"
    if annotation is Ellipsis:
        return "..."
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Annotated:
        return type_name(arguments[0])
    if origin is Literal:
        return " | ".join(json.dumps(value) for value in arguments)
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(member) for member in arguments)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(argument) for argument in arguments)}]" if arguments else name
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def field_constraints(field: FieldInfo) -> tuple[str, ...]:
    shown: list[str] = []
    for attribute, symbol in CONSTRAINTS:
        for item in field.metadata:
            value = getattr(item, attribute, None)
            if value is not None:
                shown.append(f"{symbol}{value}")
    return tuple(shown)


def one_line(text: str) -> str:
    return " ".join(text.split())


def first_paragraph(text: str | None) -> str:
    return one_line(inspect.cleandoc(text).split("\n\n", 1)[0]) if text else ""


def source_comments(source: str) -> dict[int, tuple[str, bool]]:
    """Comment text by (1-based) line, and whether the comment is alone on its line."""
    comments: dict[int, tuple[str, bool]] = {}
    lines = source.splitlines()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                row, column = token.start
                alone = not lines[row - 1][:column].strip()
                comments[row] = (token.string.lstrip("#").strip(), alone)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return {}
    return comments


@cache
def class_field_notes(model: type) -> dict[str, str]:
    """Descriptions written in the source of one class body: attribute docstrings, else the comment block just
    above a field, else its trailing comment(s). Empty when the source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}
    if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
        return {}
    comments = source_comments(source)
    body = tree.body[0].body
    notes: dict[str, str] = {}
    for index, statement in enumerate(body):
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        following = body[index + 1] if index + 1 < len(body) else None
        if (
            isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            notes[statement.target.id] = first_paragraph(following.value.value)
            continue
        above: list[str] = []
        row = statement.lineno - 1
        while row in comments and comments[row][1]:
            above.insert(0, comments[row][0])
            row -= 1
        if above:
            notes[statement.target.id] = one_line(" ".join(above))
            continue
        end = statement.end_lineno or statement.lineno
        trailing = [
            comments[row][0]
            for row in range(statement.lineno, end + 1)
            if row in comments and not comments[row][1]
        ]
        if trailing:
            notes[statement.target.id] = one_line(" ".join(trailing))
    return notes


def field_notes(model: type[BaseModel]) -> dict[str, str]:
    """`class_field_notes` over the model's bases too; a subclass's own note of a field wins."""
    notes: dict[str, str] = {}
    for base in reversed(model.__mro__):
        if isinstance(base, type) and issubclass(base, BaseModel) and base is not BaseModel:
            notes.update(class_field_notes(base))
    return notes


def field_default(field: FieldInfo) -> Any:
    if field.default is not PydanticUndefined:
        return field.default
    if field.default_factory is None:
        return PydanticUndefined
    try:
        return field.get_default(call_default_factory=True, validated_data={})
    except Exception:  # a factory of other fields' values: shown as computed
        return PydanticUndefined


def config_keys(
    model: type[BaseModel], prefix: str = "", defaults: BaseModel | None = None
) -> list[ConfigKey]:
    """Every key of `model`, depth first, each section before its own keys. `defaults`: the section's default
    instance, whose values (not the section model's own defaults) are the keys' defaults."""
    return list(_walk(model, prefix, defaults, ()))


def _walk(
    model: type[BaseModel], prefix: str, defaults: BaseModel | None, seen: tuple[type, ...]
) -> list[ConfigKey]:
    keys: list[ConfigKey] = []
    notes = field_notes(model)
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        default = getattr(defaults, name) if defaults is not None else field_default(field)
        section, is_list = section_model(field.annotation)
        description = field.description or notes.get(name, "")
        if section is not None and not description:
            description = first_paragraph(section.__doc__)
        keys.append(
            ConfigKey(
                key, field.annotation, default, one_line(description), field_constraints(field), section
            )
        )
        if section is not None and section not in seen:
            if is_list:
                keys.extend(_walk(section, f"{key}{LIST_ITEMS}.", None, (*seen, model)))
            else:
                instance = default if isinstance(default, section) else None
                keys.extend(_walk(section, f"{key}.", instance, (*seen, model)))
    return keys


def default_text(value: Any) -> str:
    """The default as it would be written in YAML flow style or after `--set key=` (JSON is valid YAML)."""
    if value is PydanticUndefined:
        return REQUIRED
    try:
        return json.dumps(to_jsonable_python(value), ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def describe_config_keys(model: type[BaseModel]) -> list[str]:
    """One line per key: `KEY: TYPE (CONSTRAINTS) = DEFAULT  # DESCRIPTION`; a section's line has no default
    unless it is optional or a list (`null`, `[]`)."""
    lines: list[str] = []
    for key in config_keys(model):
        line = f"{key.key}: {type_name(key.annotation)}"
        if key.constraints:
            line += f" ({', '.join(key.constraints)})"
        if key.section is None or not isinstance(key.default, BaseModel):
            line += f" = {default_text(key.default)}"
        if key.description:
            line += f"  # {key.description}"
        lines.append(line)
    return lines
