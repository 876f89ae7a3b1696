"""The human-labeling web service: pairwise preferences and document audits, by annotators with tokens.

Python API (what `flows/feedback.py` builds on):

* `publish_pairs(database_url, rows, *, batch, labels_required) -> int`: put preference-schema rows up for
  labelling (new ones counted; a rerun adds nothing twice);
* `count_labels(database_url, batch) -> BatchProgress`: items with all their labels vs all items;
* `export_preferences(database_url, path, *, batch=None) -> dict`: the decided pairs as a preference dataset
  (JSONL or Parquet), with counts of pairs written, ties, both-bad, disagreements, pending and skips;
* `export_audit(...)`, `import_file(...)`, `add_annotator(...)`, and `create_app(database_url)` for the server;
* `labeling.scripted_annotator`: an HTTP client that labels by a rule, for tests and demos.
"""

import importlib
from typing import Any

# Imported on first use (PEP 562), so `lmforge --help` and the CLI's other commands do not pay for FastAPI and
# SQLAlchemy: the name, then the module that defines it.
_LAZY = {
    "create_app": "app",
    "add_annotator": "auth",
    "replace_token": "auth",
    "export_audit": "exporting",
    "export_preferences": "exporting",
    "ImportRejected": "importing",
    "ImportReport": "importing",
    "import_file": "importing",
    "publish_pairs": "importing",
    "ServiceLimits": "limits",
    "BatchProgress": "progress",
    "count_labels": "progress",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BatchProgress",
    "ImportRejected",
    "ImportReport",
    "ServiceLimits",
    "add_annotator",
    "count_labels",
    "create_app",
    "export_audit",
    "export_preferences",
    "import_file",
    "publish_pairs",
    "replace_token",
]
