"""Memory sizes as people write them (`80GB`, `24GiB`, `512M`) and the memory a process can count on here."""

from __future__ import annotations

import re

from alignment.memory_plan_model import PlanInputError

# Decimal units are what GPU and RAM specifications print ("80GB"); binary ones what tools print ("79.2GiB").
UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int:
    """`80GB` → 80·10⁹, `24GiB` → 24·2³⁰, `1.5g` → 1.5·10⁹; a `PlanInputError` (one line) otherwise."""
    match = SIZE.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in UNITS:
        raise PlanInputError(f"--memory expects a size like 80GB, 24GiB or 512MB, got {text!r}")
    size = int(float(match.group(1)) * UNITS[unit])
    if size <= 0:
        raise PlanInputError(f"--memory must be more than 0, got {text!r}")
    return size


def format_bytes(size: int | float) -> str:
    """Binary units, three significant figures: 1536 → `1.50 KiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TiB"


def available_memory(device: str, workers: int) -> int | None:
    """Per process: the GPU's memory on cuda (None without a GPU here), else this machine's RAM shared by the
    workers (a one-machine run puts them all on it)."""
    if device == "cuda":
        try:
            import torch

            if torch.cuda.is_available():
                return int(torch.cuda.get_device_properties(0).total_memory)
        except ImportError:
            return None
        return None
    import psutil

    return int(psutil.virtual_memory().total // max(1, workers))
