"""Screenshots of the labeling page and the admin page, for the docs.

    python -m labeling.screenshots docs/screenshots

builds a small demo database in a temporary directory (pairs and documents, three scripted annotators who
do not always agree), serves it on a free loopback port, and captures in headless Chromium (Playwright driving
Debian's `/usr/bin/chromium`; nothing is downloaded): `labeling-page.png` (desktop), `labeling-page-360.png`
(a 360 px wide phone), `my-labels-edit.png` (one past label opened from "My labels" to change it) and
`admin-page.png`. `take_screenshots` is also what the browser tests call against their own server.
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

from labeling.background_server import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1400, "height": 900}
NARROW_VIEWPORT = {"width": 360, "height": 780}

DEMO_PAIRS: list[dict[str, Any]] = [
    {
        "id": "python-reverse",
        "prompt": [
            {"role": "user", "content": "How do I reverse a list in Python without changing the original?"}
        ],
        "response_a": "Use slicing, which returns a **new** list:\n\n```python\nreversed_copy = items[::-1]\n```\n\n"
        "`items` is left as it was. Two other ways:\n\n- `list(reversed(items))`\n- `items.copy()` then "
        "`.reverse()` on the copy",
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
MARKDOWN_PAIR: dict[str, Any] = {
    "id": "read-lines",
    "prompt": [{"role": "user", "content": "How do I read a text file line by line in Python?"}],
    "response_a": "Open it in a `with` block and loop over the file object; it yields one line at a time, so even "
    'a huge file is never held in memory at once:\n\n```python\nwith open("notes.txt", encoding="utf-8") as '
    'file:\n    for line in file:\n        print(line.rstrip("\\n"))\n```\n\n- `with` closes the file, even on '
    'an error\n- `rstrip("\\n")` drops the line break each line keeps',
    "response_b": 'Use `file.readlines()`:\n\n```python\nlines = open("notes.txt").readlines()\n```\n\nThis reads '
    "the **whole file** into a list first.",
    "source": "policy-round-4",
    "margin": 0.01,
}
DEMO_DOCUMENTS: list[dict[str, Any]] = [
    {"id": "doc-recipe", "text": "Sourdough, step by step: feed the starter the night before ...",
     "url": "https://example.com/bread", "reason": None},
    {"id": "doc-spam", "text": "BEST CHEAP WATCHES buy now buy now click here free shipping " * 3,
     "url": "https://spam.example/watches", "reason": "gopher_repetition:top_2gram"},
    {"id": "doc-short", "text": "Contact us | Imprint | Privacy", "reason": "gopher_quality:min_words"},
]  # fmt: skip


def log_in(page: Any, base_url: str, token: str, target: str) -> None:
    """Log in on the way to `target`; on the labeling page, press its start button (reserving is a POST)."""
    page.goto(f"{base_url}{target}")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("#login-form button[type=submit]")
    if page.locator("#next-form").count():
        with page.expect_navigation():
            page.click("#next-button")


def take_screenshots(
    base_url: str, annotator_token: str, admin_token: str, directory: Path, *, browser: Any = None
) -> tuple[Path, Path, Path, Path]:
    """Log in as the annotator and capture their task (desktop and 360 px wide), label it, open that label from
    "My labels"; then log in as the admin and capture `/admin`. Full-page PNGs in `directory`:
    (labeling, labeling at 360 px, my-labels edit view, admin)."""
    from playwright.sync_api import sync_playwright

    directory.mkdir(parents=True, exist_ok=True)
    labeling, narrow = directory / "labeling-page.png", directory / "labeling-page-360.png"
    edit, admin = directory / "my-labels-edit.png", directory / "admin-page.png"
    with sync_playwright() if browser is None else _no_context() as playwright:
        chromium = browser or playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            desktop = chromium.new_context(viewport=VIEWPORT, device_scale_factor=1)
            page = desktop.new_page()
            log_in(page, base_url, annotator_token, "/label")
            page.screenshot(path=str(labeling), full_page=True)
            phone = chromium.new_context(viewport=NARROW_VIEWPORT, device_scale_factor=1)
            log_in(phone.new_page(), base_url, annotator_token, "/label")  # the same task: it is reserved
            phone.pages[0].screenshot(
                path=str(narrow)
            )  # what the phone shows: the action bar sticks to its foot
            phone.close()
            with page.expect_navigation():
                page.keyboard.press("1")
            page.goto(f"{base_url}/my-labels")
            with page.expect_navigation():
                page.click("#my-labels .edit-link")
            page.screenshot(path=str(edit), full_page=True)
            desktop.close()
            context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=1)
            log_in(context.new_page(), base_url, admin_token, "/admin")
            context.pages[0].screenshot(path=str(admin), full_page=True)
            context.close()
        finally:
            if browser is None:
                chromium.close()
    return labeling, narrow, edit, admin


@contextmanager
def _no_context() -> Iterator[None]:
    yield None


def build_demo_database(database_url: str) -> dict[str, str]:
    """Demo items and people; three scripted annotators label most of it (not always alike). Returns tokens."""
    from labeling.auth import add_annotator
    from labeling.importing import import_file, publish_pairs

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
    from labeling.scripted_annotator import label_by_rule, prefer_containing, prefer_longer

    label_by_rule(base_url, tokens["ana"], prefer_longer, think_seconds=0.3)
    label_by_rule(base_url, tokens["ben"], prefer_longer, kind="pair", think_seconds=0.2)
    label_by_rule(base_url, tokens["ben"], prefer_containing("step"), kind="document", think_seconds=0.2)
    label_by_rule(base_url, tokens["chen"], prefer_containing("a"), limit=4, think_seconds=0.45)


def main(argv: list[str] | None = None) -> int:
    from labeling.importing import publish_pairs

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
            publish_pairs(database_url, [MARKDOWN_PAIR], batch="round-4")  # new: what dana is shown first
            for path in take_screenshots(base_url, tokens["dana"], tokens["lead"], arguments.directory):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
