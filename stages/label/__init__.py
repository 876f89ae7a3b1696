"""The label stage: automatic labels as columns (quality score from a classifier the stage trains itself, topic,
toxicity, language carried from cleaning), a mix/threshold step that drops by label with reasons, and a bias
audit of identity terms counted into the manifest."""

import importlib
from typing import Any

__all__ = ["LabelConfig", "LabelStage"]
_LAZY = {"LabelConfig": "config", "LabelStage": "stage"}  # imported on first use, as the service's names are


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
