"""Training recipes with object-store inputs, starting checkpoints and outputs (`s3://...`).

A recipe reads local files and writes a local checkpoint, so `stage_recipe` prepares local stand-ins:

- every input and every path-valued config key (`model`, `reward_model`, `tokenizer`, `eval_path`, ...) that is
  a URI is copied into lmforge's cache (`stages.core.object_store_cache.materialize_input`; a checkpoint is read
  only once its commit marker is published);
- the output is worked on in its cache copy, brought up to what the store holds first (so the training task's
  fingerprint skip and resume work as locally, on a fresh machine too); the prefix is checked before anything
  runs, so one lmforge did not write is refused in one line;
- `publish` publishes the finished checkpoint (`stages.core.object_store_folders.publish_folder`: a temporary
  prefix, the ownership mark, the commit marker last), unless the store already holds exactly it.

`aliases` maps each local stand-in to its URI, so that fingerprints do not depend on where the cache is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs
from pydantic import BaseModel

from stages.core.object_store import check_remote_existing, check_remote_location, object_type
from stages.core.object_store_cache import local_copy_path, materialize_input
from stages.core.object_store_folders import download_folder, folder_copy_matches, publish_folder, read_commit
from stages.core.output_safety import OutputOwner
from stages.core.staging import existing_locations
from stages.core.storage import Location, LocationError, is_uri, parse_location

PATH_FIELDS = (
    "model",
    "reward_model",
    "policy",
    "reference",
    "heldout_model",
    "heldout_reward_model",
    "tokenizer",
    "eval_path",
)
"""Config keys that name a file or folder a recipe reads (alignment.recipe_inputs checks the same ones)."""


@dataclass
class StagedRecipe:
    """A recipe's local config, inputs and output, and where the output is published (None: it is local)."""

    config: BaseModel
    inputs: list[str]
    output: Path
    owner: OutputOwner
    remote: Location | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    def publish(self) -> bool:
        """Publish the finished local checkpoint to the store; True when it uploaded anything."""
        if self.remote is None:
            return False
        committed = read_commit(self.remote)
        if committed is not None and folder_copy_matches(self.output, committed):
            return False
        publish_folder(self.output, self.remote, self.owner)
        return True


def involves_object_store(config: BaseModel, inputs: list[str], output: str) -> bool:
    return is_uri(output) or any(is_uri(path) for path in inputs) or bool(config_uris(config))


def config_uris(config: BaseModel, prefix: str = "") -> dict[str, str]:
    """The path-valued config keys (nested sections too) that hold a URI, by dotted name."""
    found: dict[str, str] = {}
    for key, value in config:
        if isinstance(value, BaseModel):
            found.update(config_uris(value, f"{prefix}{key}."))
        elif key in PATH_FIELDS and isinstance(value, str) and is_uri(value):
            found[f"{prefix}{key}"] = value
    return found


def localize_config(config: BaseModel, aliases: dict[str, str]) -> BaseModel:
    """`config` with every URI among its path-valued keys replaced by its local copy (recorded in `aliases`)."""
    updates: dict[str, object] = {}
    for key, value in config:
        if isinstance(value, BaseModel):
            localized = localize_config(value, aliases)
            if localized is not value:
                updates[key] = localized
        elif key in PATH_FIELDS and isinstance(value, str) and is_uri(value):
            location = parse_location(value)
            local = materialize_input(location)
            aliases[str(local)] = location.uri
            updates[key] = str(local)
    return config.model_copy(update=updates) if updates else config


def stage_recipe(name: str, config: BaseModel, inputs: list[str], output: str) -> StagedRecipe:
    """Local stand-ins for a recipe run whose inputs, config paths or output may be on an object store."""
    owner = OutputOwner("training", name)
    target = parse_location(output)
    sources = existing_locations(inputs)
    for key, uri in config_uris(config).items():  # a missing checkpoint is named by its key, as written
        if object_type(parse_location(uri)) == pafs.FileType.NotFound:
            raise LocationError(f"{key} does not exist: {uri}")
    if not target.is_local:  # checked before any download: a foreign prefix costs nothing
        check_remote_location(target, [source for source in sources if not source.is_local])
        check_remote_existing(target, owner)
    aliases: dict[str, str] = {}
    local_inputs = []
    for text, source in zip(inputs, sources, strict=True):
        if source.is_local:
            local_inputs.append(text)
            continue
        local = materialize_input(source)
        aliases[str(local)] = source.uri
        local_inputs.append(str(local))
    config = localize_config(config, aliases)
    if target.is_local:
        return StagedRecipe(config, local_inputs, target.local_path, owner, None, aliases)
    local_output = local_copy_path(target)
    committed = read_commit(target)
    if committed is not None and not folder_copy_matches(local_output, committed):
        download_folder(target, local_output, committed)
    aliases[str(local_output)] = target.uri
    return StagedRecipe(config, local_inputs, local_output, owner, target, aliases)
