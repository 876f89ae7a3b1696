"""splitmix64's finaliser over numpy arrays: the cheap, well-mixed 64-bit hash that hashed n-gram features
(the label stage's quality model, the clean stage's spam classifier) combine token codes with."""

from __future__ import annotations

import numpy as np

GOLDEN_RATIO_64 = np.uint64(0x9E3779B97F4A7C15)
"""The multiplier for combining a running hash with the next code (`mixed(hash * GOLDEN_RATIO_64 + code)`)."""
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def splitmix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64 (the arithmetic wraps, as intended)."""
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX_1
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX_2
    return values ^ (values >> np.uint64(31))
