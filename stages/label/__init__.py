"""The label stage: automatic labels as columns (quality score from a classifier the stage trains itself, topic,
toxicity, language carried from cleaning), a mix/threshold step that drops by label with reasons, and a bias
audit of identity terms counted into the manifest."""

from stages.label.config import LabelConfig
from stages.label.stage import LabelStage

__all__ = ["LabelConfig", "LabelStage"]
