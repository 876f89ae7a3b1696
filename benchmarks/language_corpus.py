"""Labelled multilingual text nobody here wrote: Debian's translation catalogues, plus English from this machine.

Language identification is judged on real text in many languages, and every Debian system carries some: the
gettext catalogues under /usr/share/locale (`LANG/LC_MESSAGES/DOMAIN.mo`), written by each project's translators.
A document is several translated messages (msgstr) of one catalogue, in catalogue order, joined until it is a
few hundred characters long; its true language is the catalogue's locale. Left out, as no evidence of that
language: messages left in English (half or more of the msgstr's words are words of the msgid), printf / brace
placeholders, markup and keyboard-accelerator marks (so the text is what a reader of the translated program
sees), messages that are mostly symbols (command synopses, option tables), and catalogues of names (ISO country
and language lists, keyboard layouts), which are lists, not sentences.

English comes from the same sources as benchmarks/clean_parity.py: Python's standard library docstrings, the
licences in /usr/share/common-licenses, Debian copyright files and manual pages.

Used by benchmarks/language_id.py (many languages, hundreds of documents) and by
tests/stages/clean/test_clean_language.py (the catalogues of a few Essential packages, which every Debian system
has).
"""

from __future__ import annotations

import ast
import gettext
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

LOCALE_ROOT = Path("/usr/share/locale")
STDLIB_ROOT = Path(ast.__file__).parent

# Catalogues that list names rather than sentences: no evidence of anyone's prose.
NAME_LIST_DOMAINS = re.compile(r"^(iso_|xkeyboard-config)")

# printf conversions (%s, %-10lu, %1$s, %%), brace placeholders ({0}, {name}), shell-style ${VAR}, markup tags
# and accelerator marks (_File, &Open) are program syntax, not language.
PLACEHOLDER = re.compile(
    r"%(?:\d+\$)?[-+ #0'I]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcspnm%]"
    r"|\$\{[^}]*\}|\{[^{}]*\}|<[^<>]*>"
)
ACCELERATOR = re.compile(r"(?<![\w_])[_&](?=\w)")
# Quotes and brackets left empty once their placeholder is gone: « », "", ( ), [ ].
EMPTY_PAIR = re.compile(r"[\"'`«»“”„‘’‚‹›(\[]\s*[\"'`«»“”„‘’‚‹›)\]]")
SPACES = re.compile(r"\s+")
LETTER = re.compile(r"[^\W\d_]")
LETTER_RUN = re.compile(r"[^\W\d_]+")
NOT_SPACE = re.compile(r"\S")
# A message kept as prose has at least this share of letters among its visible characters; below it, it is a
# command synopsis (`git push [--all] [<remote>]`), a format string or a table of option names.
MIN_LETTER_SHARE = 0.7

# Locale directory → the ISO 639-1 code a language identifier should answer (lid.176 calls Bokmål "no").
LOCALE_TO_CODE = {"nb": "no", "zh_CN": "zh", "zh_TW": "zh", "pt_BR": "pt"}

# 39 languages in 14 scripts, among them the ones a 12-language detector wrongly kept as English (id, fi, ro).
BENCHMARK_LOCALES = (
    "ar", "bg", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "gl", "he", "hu", "id", "it",
    "ja", "ko", "lt", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "tr", "uk", "vi", "zh_CN",
    "hi", "bn", "ta", "th", "ka",
)  # fmt: skip


class LabelledText(NamedTuple):
    """One evaluation document: where it came from, its true language (ISO 639-1) and its text."""

    doc_id: str
    language: str
    text: str


def locale_code(locale: str) -> str:
    """The language code of a locale directory name: `pt_BR` → `pt`, `zh_CN` → `zh`, `nb` → `no`."""
    return LOCALE_TO_CODE.get(locale, locale.split("_")[0].split("@")[0])


def clean_message(message: str) -> str:
    """A translated message as a reader sees it: placeholders, markup and accelerator marks removed."""
    text = ACCELERATOR.sub("", PLACEHOLDER.sub(" ", message))
    return SPACES.sub(" ", EMPTY_PAIR.sub(" ", text)).strip()


def is_copied(msgstr: str, msgid: str) -> bool:
    """Half or more of the translation's words are words of the English original: left in English, in effect
    (font feature names, product names), so no evidence of the catalogue's language."""
    words = [word.lower() for word in LETTER_RUN.findall(msgstr)]
    original = {word.lower() for word in LETTER_RUN.findall(msgid)}
    return bool(words) and sum(word in original for word in words) >= len(words) / 2


def is_prose(message: str) -> bool:
    """A few letters, and mostly letters: not a synopsis of options or a string of symbols."""
    letters = len(LETTER.findall(message))
    return letters >= 3 and letters >= MIN_LETTER_SHARE * len(NOT_SPACE.findall(message))


def translated_messages(catalogue: Path) -> list[str]:
    """The translated messages of one .mo file, in msgid order, each cleaned; untranslated ones skipped.

    A catalogue that cannot be read as UTF-8 (a few old ones declare no charset) gives no messages."""
    try:
        with open(catalogue, "rb") as handle:
            entries = gettext.GNUTranslations(handle)._catalog  # msgid (or (msgid, n) for plurals) → msgstr
    except (OSError, UnicodeDecodeError):  # a few old catalogues declare no charset and are not UTF-8
        return []
    messages = []
    for key in sorted(entries, key=str):
        msgid = key[0] if isinstance(key, tuple) else key
        msgstr = entries[key]
        if not msgid or is_copied(msgstr, msgid):  # the header, or a message left in English
            continue
        cleaned = clean_message(msgstr)
        if is_prose(cleaned):
            messages.append(cleaned)
    return messages


def catalogue_documents(catalogue: Path, rng: random.Random, shortest: int, longest: int) -> Iterator[str]:
    """Consecutive translated messages of one catalogue joined into documents of `shortest`..`longest` chars."""
    target = rng.randint(shortest, longest)
    parts: list[str] = []
    size = 0
    for message in translated_messages(catalogue):
        parts.append(message)
        size += len(message) + 1
        if size >= target:
            yield " ".join(parts)[:longest]
            parts, size, target = [], 0, rng.randint(shortest, longest)


def every_kth(items: list, count: int) -> list:
    """`count` items spread evenly over `items` (all of them when there are fewer)."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(index * step)] for index in range(count)]


def locale_documents(
    locale: str,
    per_language: int,
    *,
    domains: Iterable[str] | None = None,
    shortest: int = 250,
    longest: int = 800,
    seed: int = 0,
    root: Path = LOCALE_ROOT,
) -> list[LabelledText]:
    """`per_language` documents spread over the catalogues of `locale` (only `domains`, when given)."""
    directory = root / locale / "LC_MESSAGES"
    if domains is None:
        catalogues = [
            path for path in sorted(directory.glob("*.mo")) if not NAME_LIST_DOMAINS.match(path.stem)
        ]
    else:
        catalogues = [directory / f"{domain}.mo" for domain in domains]
    rng = random.Random(f"{seed}:{locale}")
    found = [
        (f"{locale}:{catalogue.stem}:{index}", text)
        for catalogue in catalogues
        for index, text in enumerate(catalogue_documents(catalogue, rng, shortest, longest))
    ]
    code = locale_code(locale)
    return [LabelledText(doc_id, code, text) for doc_id, text in every_kth(found, per_language)]


def docstring_documents(count: int, min_length: int = 200, root: Path = STDLIB_ROOT) -> list[LabelledText]:
    """English docstrings of Python's standard library (test suites and vendored code left out)."""
    found: list[LabelledText] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part in ("test", "tests", "idlelib", "site-packages", "lib2to3") for part in relative.parts):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        module = ".".join(relative.with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(node)
                if docstring and len(docstring) >= min_length:
                    name = module if isinstance(node, ast.Module) else f"{module}.{node.name}"
                    found.append(LabelledText(f"docstring:{name}", "en", docstring))
    return every_kth(found, count)
