"""The human-labeling web service: pairwise preferences and document audits, by annotators with tokens.

Python API (what `flows/feedback.py` builds on):

* `publish_pairs(database_url, rows, *, batch, labels_required) -> int`: put preference-schema rows up for
  labelling (new ones counted; a rerun adds nothing twice);
* `count_labels(database_url, batch) -> BatchProgress`: items with all their labels vs all items;
* `export_preferences(database_url, path, *, batch=None) -> dict`: the decided pairs as a preference dataset
  (JSONL or Parquet), with counts of pairs written, ties, both-bad, disagreements, pending and skips;
* `export_audit(...)`, `import_file(...)`, `add_annotator(...)`, and `create_app(database_url)` for the server;
* `stages.label.service.scripted_annotator`: an HTTP client that labels by a rule, for tests and demos.
"""

from stages.label.service.app import create_app
from stages.label.service.auth import add_annotator, replace_token
from stages.label.service.exporting import export_audit, export_preferences
from stages.label.service.importing import ImportRejected, ImportReport, import_file, publish_pairs
from stages.label.service.limits import ServiceLimits
from stages.label.service.progress import BatchProgress, count_labels

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
