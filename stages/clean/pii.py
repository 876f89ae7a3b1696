"""PII redaction: replaces e-mail addresses, phone numbers, IP addresses, card numbers and API keys by
placeholders. It never drops a document; what it replaced is counted per kind.

Patterns err towards precision: card numbers must pass the Luhn check and start like a real card, phone numbers
need separators in a phone-like layout and a plausible digit count, so years, prices, dates and plain numbers stay.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from stages.clean.config import PiiConfig

EMAIL_PLACEHOLDER = "<EMAIL>"
PHONE_PLACEHOLDER = "<PHONE>"
IP_ADDRESS_PLACEHOLDER = "<IP_ADDRESS>"
CREDIT_CARD_PLACEHOLDER = "<CREDIT_CARD>"
API_KEY_PLACEHOLDER = "<API_KEY>"

# Patterns begin with a character they consume and check the character before it with a lookbehind placed
# after it (`\d(?<![\w.]\d)`): Python's regex engine then scans for the first character quickly, while a leading
# lookbehind would make it try the assertion at every position of the text (3-4x slower).
API_KEY_HINT = re.compile(r"AKIA|gh[pousr]_|github_pat_|xox[baprs]-|sk-|AIza")
API_KEY = re.compile(
    r"(?<![\w-])(?:"
    r"AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"  # GitHub classic tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub fine-grained tokens
    r"|xox[baprs]-[A-Za-z0-9-]{10,250}"  # Slack tokens
    r"|sk-[A-Za-z0-9_-]{20,250}"  # OpenAI-style secret keys
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r")(?![\w-])"
)
EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
CREDIT_CARD = re.compile(
    r"\d(?<![\w+.,-]\d)(?:"
    r"\d{12,18}"
    r"|\d{3}([ -])\d{4}\1\d{4}\1\d{1,7}"  # 4-4-4-4 (and 4-4-4-1..7)
    r"|\d{3}([ -])\d{4}\2\d{4}\2\d{4}\2\d{3}"  # 4-4-4-4-3
    r"|\d{3}([ -])\d{6}\3\d{4,5}"  # Amex / Diners 4-6-5, 4-6-4
    r")(?![\w-]|[.,]\d)"
)
IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\w|\.\d)")
IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
INTERNATIONAL_PHONE = re.compile(r"\+(?<![\w+]\+)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?!\w)")
NORTH_AMERICAN_PHONE = re.compile(
    r"(?=[\d(])(?<![\w+.(/-])(?:1[ .\-])?(?:\(\d{3}\) ?|\d{3}([ .\-]))\d{3}(?(1)\1|[ .\-])\d{4}(?![\w-]|[.,/]\d)"
)
EUROPEAN_PHONE = re.compile(r"0(?<![\w+.,/-]0)\d{1,4}([ .\-/])\d{2,8}(?:\1\d{2,8}){0,3}(?![\w-]|[.,/]\d)")
NON_DIGITS = re.compile(r"\D")


class PiiRedaction(NamedTuple):
    text: str
    counts: Counter[str]


def passes_luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = ord(character) - 48
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def has_card_prefix(digits: str) -> bool:
    """Whether `digits` starts like an issued card: Amex, Diners, JCB, Visa, Mastercard, Discover, UnionPay."""
    first = digits[0]
    if first in "456":
        return True
    if first == "3":
        return digits[1] in "04578"
    if first == "2":
        return 2221 <= int(digits[:4]) <= 2720
    return False


def is_credit_card(number: str) -> bool:
    digits = NON_DIGITS.sub("", number)
    return 13 <= len(digits) <= 19 and has_card_prefix(digits) and passes_luhn(digits)


def is_ipv4(candidate: str) -> bool:
    """Four octets of at most 255, without leading zeros."""
    return all(
        int(octet) <= 255 and (octet == "0" or not octet.startswith("0")) for octet in candidate.split(".")
    )


def is_ipv6(candidate: str) -> bool:
    """A real IPv6 address with at least four hex digits (so `a[::2]` or `12:30:45` are left alone)."""
    if sum(character not in ":" for character in candidate) < 4:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def is_international_phone(number: str) -> bool:
    return 8 <= len(NON_DIGITS.sub("", number)) <= 15


def is_european_phone(number: str) -> bool:
    return 10 <= len(NON_DIGITS.sub("", number)) <= 12


class PiiRedactor:
    """Replaces each enabled PII kind by its placeholder, counting replacements by kind (`email`, `phone`...)."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config

    def redact(self, text: str) -> PiiRedaction:
        counts: Counter[str] = Counter()
        config = self.config
        if not config.enabled:
            return PiiRedaction(text, counts)
        if config.api_keys and API_KEY_HINT.search(text):
            text, counts["api_key"] = API_KEY.subn(API_KEY_PLACEHOLDER, text)
        if config.emails and "@" in text:
            text, counts["email"] = EMAIL.subn(EMAIL_PLACEHOLDER, text)
        if config.credit_cards:
            text = _replace_valid(
                CREDIT_CARD, is_credit_card, CREDIT_CARD_PLACEHOLDER, text, counts, "credit_card"
            )
        if config.ip_addresses:
            if IPV6_HINT.search(text):
                text = _replace_valid(
                    IPV6_CANDIDATE, is_ipv6, IP_ADDRESS_PLACEHOLDER, text, counts, "ip_address"
                )
            text = _replace_valid(IPV4, is_ipv4, IP_ADDRESS_PLACEHOLDER, text, counts, "ip_address")
        if config.phone_numbers:
            if "+" in text:
                text = _replace_valid(
                    INTERNATIONAL_PHONE, is_international_phone, PHONE_PLACEHOLDER, text, counts, "phone"
                )
            text, found = NORTH_AMERICAN_PHONE.subn(PHONE_PLACEHOLDER, text)
            counts["phone"] += found
            text = _replace_valid(EUROPEAN_PHONE, is_european_phone, PHONE_PLACEHOLDER, text, counts, "phone")
        return PiiRedaction(text, +counts)


def _replace_valid(
    pattern: re.Pattern[str],
    is_valid: Callable[[str], bool],
    placeholder: str,
    text: str,
    counts: Counter[str],
    kind: str,
) -> str:
    """Replace the matches of `pattern` that `is_valid` accepts, counting them under `kind`."""

    def replace(match: re.Match[str]) -> str:
        if is_valid(match.group(0)):
            counts[kind] += 1
            return placeholder
        return match.group(0)

    return pattern.sub(replace, text)
