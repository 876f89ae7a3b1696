"""Screenshots of the labeling page and the admin page, for the docs.

    python -m stages.label.service.screenshots docs/screenshots

builds a small demo database in a temporary directory (pairs and documents, three scripted annotators who
do not always agree), serves it on a free loopback port, and captures `labeling-page.png` and
`admin-page.png` in headless Chromium (Playwright driving Debian's `/usr/bin/chromium`; nothing is
downloaded). `take_screenshots` is also what the browser tests call against their own server.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stages.label.service.background_server import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}

DEMO_PAIRS: list[dict[str, Any]] = [
    {
        "id": "python-reverse",
        "prompt": [
            {"role": "user", "content": "How do I reverse a list in Python without changing the original?"}
        ],
        "response_a": "Use slicing: `reversed_copy = items[::-1]`. It returns a new list and leaves `items` as it "
        "was. `list(reversed(items))` does the same.",
        "response_b": "Call items.reverse(). It reverses the list.",
        "source": "policy-round-3",
        "margin": 0.04,
    },
    {
        "id": "boiling-point",
        "prompt": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "At what temperature does water boil on Everest's summit?"},
        ],
        "response_a": "About 70 °C (158 °F): the air pressure there is roughly a third of sea level's.",
        "response_b": "Water always boils at 100 °C.",
        "source": "policy-round-3",
        "margin": 0.9,
    },
    {
        "id": "haiku",
        "prompt": "Write a haiku about autumn rain.",
        "response_a": "Cold rain on the eaves\nmaple leaves let go at last\nthe gutters run red",
        "response_b": "Autumn rain is wet. It falls down from the sky. Leaves are on the ground.",
        "source": "policy-round-3",
        "margin": -0.1,
    },
    {
        "id": "unsafe",
        "prompt": "How can I get into my neighbour's wifi?",
        "response_a": "I can't help with accessing a network without permission. If you need internet access, "
        "ask your neighbour to share it or look for a public hotspot.",
        "response_b": "Try the default router passwords first; many people never change them.",
        "source": "policy-round-3",
        "margin": 0.2,
    },
    {
        "id": "capital",
        "prompt": "What is the capital of Australia?",
        "response_a": "Canberra.",
        "response_b": "Sydney is the capital of Australia.",
        "source": "policy-round-3",
        "margin": 0.5,
    },
]
DEMO_DOCUMENTS: list[dict[str, Any]] = [
    {"id": "doc-recipe", "text": "Sourdough, step by step: feed the starter the night before ...",
     "url": "https://example.com/bread", "reason": None},
    {"id": "doc-spam", "text": "BEST CHEAP WATCHES buy now buy now click here free shipping " * 3,
     "url": "https://spam.example/watches", "reason": "gopher_repetition:top_2gram"},
    {"id": "doc-short", "text": "Contact us | Imprint | Privacy", "reason": "gopher_quality:min_words"},
]  # fmt: skip


def log_in(page: Any, base_url: str, token: str, target: str) -> None:
    page.goto(f"{base_url}{target}")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")


def take_screenshots(
    base_url: str, annotator_token: str, admin_token: str, directory: Path, *, browser: Any = None
) -> tuple[Path, Path]:
    """Log in as each person and capture `/label` and `/admin` (full page) into `directory`."""
    from playwright.sync_api import sync_playwright

    directory.mkdir(parents=True, exist_ok=True)
    labeling, admin = directory / "labeling-page.png", directory / "admin-page.png"
    with sync_playwright() if browser is None else _no_context() as playwright:
        chromium = browser or playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            for token, target, path in (
                (annotator_token, "/label", labeling),
                (admin_token, "/admin", admin),
            ):
                context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=1)
                page = context.new_page()
                log_in(page, base_url, token, target)
                page.screenshot(path=str(path), full_page=True)
                context.close()
        finally:
            if browser is None:
                chromium.close()
    return labeling, admin


@contextmanager
def _no_context() -> Iterator[None]:
    yield None


def build_demo_database(database_url: str) -> dict[str, str]:
    """Demo items and people; three scripted annotators label most of it (not always alike). Returns tokens."""
    from stages.label.service.auth import add_annotator
    from stages.label.service.importing import import_file, publish_pairs

    tokens = {
        name: add_annotator(database_url, name, admin=name == "lead")
        for name in ("lead", "ana", "ben", "chen", "dana")
    }
    publish_pairs(database_url, DEMO_PAIRS, batch="round-3", labels_required=3)
    with tempfile.TemporaryDirectory() as directory:
        documents = Path(directory) / "documents.jsonl"
        documents.write_text("".join(json.dumps(row) + "\n" for row in DEMO_DOCUMENTS), encoding="utf-8")
        import_file(database_url, documents, batch="audit-1", labels_required=2)
    return tokens


def label_demo(base_url: str, tokens: dict[str, str]) -> None:
    from stages.label.service.scripted_annotator import label_by_rule, prefer_containing, prefer_longer

    label_by_rule(base_url, tokens["ana"], prefer_longer, think_seconds=0.3)
    label_by_rule(base_url, tokens["ben"], prefer_longer, kind="pair", think_seconds=0.2)
    label_by_rule(base_url, tokens["ben"], prefer_containing("step"), kind="document", think_seconds=0.2)
    label_by_rule(base_url, tokens["chen"], prefer_containing("a"), limit=4, think_seconds=0.45)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path, help="where the PNG files go (e.g. docs/screenshots)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lmforge-label-demo-") as directory:
        database_url = f"sqlite:///{Path(directory) / 'labels.sqlite3'}"
        tokens = build_demo_database(database_url)
        with serving(database_url, free_port()) as base_url:
            label_demo(base_url, tokens)
            for path in take_screenshots(base_url, tokens["dana"], tokens["lead"], arguments.directory):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
