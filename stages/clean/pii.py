"""PII redaction: replaces e-mail addresses, phone numbers, IP addresses, card numbers, API keys and Chinese
resident ID numbers by placeholders. It never drops a document; what it replaced is counted per kind.

Patterns err towards precision: card numbers must pass the Luhn check and start like a real card, phone numbers
need separators in a phone-like layout and a plausible digit count, so years, prices, dates and plain numbers stay.

Chinese text gets its own rules (mainland mobile and landline numbers, 400/800 hotlines, resident ID numbers, bank
cards written against Chinese characters), because Chinese puts no space between words and numbers: Python counts
Han characters as word characters, so word boundaries and the word-character lookbehinds above never fire in
`电话13812345678联系`. The Chinese rules bound numbers by ASCII letters and digits only, and run only on text that
contains a Han character: English text is redacted exactly as before, at the same speed. They leave alone what
is not PII: dates (20231015, 2023年10月15日), prices, 13-digit ISBNs, 10- and 13-digit timestamps, ICP and public
security filing numbers (京ICP备…号, 公网安备…号, also when the card rule would take them), order numbers that
fail a card's or an ID's checksum, lists of two-digit lottery numbers (which the European phone rule takes in other
text), and QQ numbers (accounts, like user names; one written as 11 digits starting 13-19 is taken as the mobile
number it usually is). On 1,000 random pages of HPLT's Chinese crawl they found 314 phone numbers and 1 bank
account, none of them wrong on inspection, and kept the English rules off 73 lottery draws and a filing number.
"""

from __future__ import annotations

import datetime
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
ID_NUMBER_PLACEHOLDER = "<ID_NUMBER>"

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
# Bounded by ASCII word characters only: Python counts Han as \w, and Chinese text puts an address right after a
# character (简历请发送至name@qq.com) or before one (name@qq.com联系).
EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9_-])"
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

# Chinese rules. They use [0-9], not \d (which also matches full-width and other scripts' digits: normalisation
# turns full-width digits into ASCII ones first), and bound a number by ASCII letters, digits and `_` only, so a
# Han character or CJK punctuation may touch it. Only text with a Han character is searched, in two passes: long
# numbers (ID numbers and bank cards), then phone numbers. Every alternative of a pattern begins with a literal
# or class it consumes (then the lookbehind), so the regex engine scans for the first character quickly.
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_AFTER = r"(?![0-9A-Za-z_]|[.,][0-9])"  # not inside a longer number, code or decimal
_MOBILE_SUBSCRIBER = r"[3-9][0-9](?:[0-9]{8}|-[0-9]{4}-[0-9]{4}| [0-9]{4} [0-9]{4})"  # after the leading 1
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_LOCAL = r"[1-9][0-9]{2,3}[ -]?[0-9]{4}"  # 7-8 digits, 3-4 or 4-4 split or not
_HOTLINE_GROUPS = r"(?:-[0-9]{3}-[0-9]{4}| [0-9]{3} [0-9]{4}|-[0-9]{4}-[0-9]{3}| [0-9]{4} [0-9]{3})"
CHINESE_PHONE = re.compile(
    "|".join(
        alternative + _NOT_AFTER
        for alternative in [
            # Mainland mobile: 1[3-9] + 9 digits, bare or 3-4-4, optionally after +86, 0086, 86 or (+86).
            r"1(?<![0-9A-Za-z_.-]1)" + _MOBILE_SUBSCRIBER,
            r"\+(?<![0-9A-Za-z_+]\+)86[ -]?1" + _MOBILE_SUBSCRIBER,
            r"0(?<![0-9A-Za-z_+.-]0)086[ -]?1" + _MOBILE_SUBSCRIBER,
            r"8(?<![0-9A-Za-z_+.-]8)6[ -]?1" + _MOBILE_SUBSCRIBER,
            r"\((?<![0-9A-Za-z_]\()\+?86\)[ -]?1" + _MOBILE_SUBSCRIBER,
            # Landline: area code (010, 02x or 0 + three digits) followed by a space or hyphen, or in ASCII or
            # full-width parentheses; then the local number.
            r"0(?<![0-9A-Za-z_+.,/-]0)(?:10|2[0-9]|[3-9][0-9]{2})[ -]" + _LOCAL,
            r"\((?<![0-9A-Za-z_]\()" + _AREA + r"\)[ -]?" + _LOCAL,
            r"\uff08(?<![0-9A-Za-z_]\uff08)" + _AREA + r"\uff09[ -]?" + _LOCAL,
            # Nationwide service numbers 400-xxx-xxxx and 800-xxx-xxxx, 3-3-4 or 3-4-3; 400 numbers also as ten
            # digits in a row (ten digits from 800 were lottery draws in the crawl sample).
            r"4(?<![0-9A-Za-z_+.,/-]4)00(?:[0-9]{7}|" + _HOTLINE_GROUPS + ")",
            r"8(?<![0-9A-Za-z_+.,/-]8)00" + _HOTLINE_GROUPS,
        ]
    )
)
# Long numbers: an 18-character resident ID number (GB 11643-1999: 6-digit region, YYYYMMDD birth date, 3-digit
# sequence, check character) or a card number in the shapes of CREDIT_CARD, 16-19 digits only (UnionPay cards are
# 16-19 digits; shorter runs by a Han character are mostly filing and licence numbers). The callback tells which.
CHINESE_LONG_NUMBER = re.compile(
    r"[1-8](?<![0-9A-Za-z_+.,-][1-8])(?:"
    r"[0-9]{15,18}"
    r"|[0-9]{16}[Xx]"
    r"|[0-9]{3}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?"  # 4-4-4-4, 4-4-4-4-1..3
    r")(?![0-9A-Za-z_-]|[.,][0-9])"
)
# Province-level codes that begin a resident ID: mainland provinces, Taiwan (71), Hong Kong and Macau (81-83).
ID_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83}
)
ID_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) % 11, ISO 7064 MOD 11-2
ID_CHECK_CHARACTERS = "10X98765432"  # indexed by the weighted sum mod 11
TWO_DIGIT_GROUPS = re.compile(r"[0-9]{2}(?:([ .\-/])[0-9]{2})(?:\1[0-9]{2})*")
FILING_MARK = "备"  # 京ICP备…号, 公网安备…号: registration numbers of websites, not PII
FILING_LOOKBACK = 8


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


def is_chinese_bank_card(number: str) -> bool:
    """A card number by the CREDIT_CARD rule's test, with the 16-19 digits of UnionPay and the other networks."""
    digits = NON_DIGITS.sub("", number)
    return 16 <= len(digits) <= 19 and has_card_prefix(digits) and passes_luhn(digits)


def is_chinese_id_number(number: str) -> bool:
    """An 18-character resident ID number with a known province, a real birth date and a correct check character.

    A random 18-digit number passes about once in 50,000 times (province 35/80, year 1.3%, month 12%, day 30%,
    check 1/11), so order and serial numbers stay.
    15-digit IDs (issued before 1999, no check digit) are not looked for: without a checksum a 15-digit run
    with a plausible date is as likely an order number as an ID.
    """
    if int(number[:2]) not in ID_PROVINCE_CODES:
        return False
    year = int(number[6:10])
    if not 1900 <= year <= datetime.date.today().year:
        return False
    try:
        datetime.date(year, int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(weight * (ord(digit) - 48) for weight, digit in zip(ID_CHECK_WEIGHTS, number, strict=False))
    return ID_CHECK_CHARACTERS[total % 11] == number[17].upper()


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


def is_european_phone_in_chinese(number: str) -> bool:
    """A European-style phone number, but not a list of two-digit numbers (`01 02 03 04 05`): in Chinese text
    those are lottery draws (the gambling pages of a Chinese crawl are full of them), not French phone numbers."""
    return is_european_phone(number) and TWO_DIGIT_GROUPS.fullmatch(number) is None


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
        # isascii() first: it runs at memory speed, so English text never pays for the Han search.
        chinese = not text.isascii() and HAN.search(text) is not None
        chinese_cards = chinese and config.credit_cards and config.chinese_bank_cards
        if chinese and (config.chinese_id_numbers or chinese_cards):
            # Before CREDIT_CARD: an ID number can pass the Luhn check too, and must be counted as an ID.
            text = CHINESE_LONG_NUMBER.sub(lambda match: self._replace_long_number(match, counts), text)
        if config.credit_cards:
            text = _replace_valid(
                CREDIT_CARD,
                is_credit_card,
                CREDIT_CARD_PLACEHOLDER,
                text,
                counts,
                "credit_card",
                skip_filing_numbers=chinese_cards,
            )
        if config.ip_addresses:
            if IPV6_HINT.search(text):
                text = _replace_valid(
                    IPV6_CANDIDATE, is_ipv6, IP_ADDRESS_PLACEHOLDER, text, counts, "ip_address"
                )
            text = _replace_valid(IPV4, is_ipv4, IP_ADDRESS_PLACEHOLDER, text, counts, "ip_address")
        if config.phone_numbers:
            chinese_phones = chinese and config.chinese_phone_numbers
            if chinese_phones:
                # First, so that Chinese layouts such as (+86)13812345678 are taken whole, not from the `+` on.
                text = _replace_valid(
                    CHINESE_PHONE, _always, PHONE_PLACEHOLDER, text, counts, "phone", skip_filing_numbers=True
                )
            if "+" in text:
                text = _replace_valid(
                    INTERNATIONAL_PHONE, is_international_phone, PHONE_PLACEHOLDER, text, counts, "phone"
                )
            text, found = NORTH_AMERICAN_PHONE.subn(PHONE_PLACEHOLDER, text)
            counts["phone"] += found
            european = is_european_phone_in_chinese if chinese_phones else is_european_phone
            text = _replace_valid(EUROPEAN_PHONE, european, PHONE_PLACEHOLDER, text, counts, "phone")
        return PiiRedaction(text, +counts)

    def _replace_long_number(self, match: re.Match[str], counts: Counter[str]) -> str:
        """A CHINESE_LONG_NUMBER match: an ID number if it is one, else a bank card if it is one, else kept."""
        found = match.group(0)
        if _after_filing_mark(match):
            return found
        config = self.config
        if config.chinese_id_numbers and len(found) == 18 and is_chinese_id_number(found):
            counts["id_number"] += 1
            return ID_NUMBER_PLACEHOLDER
        if config.credit_cards and config.chinese_bank_cards and is_chinese_bank_card(found):
            counts["credit_card"] += 1
            return CREDIT_CARD_PLACEHOLDER
        return found


def _always(_: str) -> bool:
    """Validator of patterns whose shape alone is enough."""
    return True


def _after_filing_mark(match: re.Match[str]) -> bool:
    """Whether 备 shortly precedes the match (京ICP备…, 公网安备…): Chinese sites print their registration numbers
    in every footer, and some pass a card's Luhn check by chance."""
    start = match.start()
    return FILING_MARK in match.string[max(0, start - FILING_LOOKBACK) : start]


def _replace_valid(
    pattern: re.Pattern[str],
    is_valid: Callable[[str], bool],
    placeholder: str,
    text: str,
    counts: Counter[str],
    kind: str,
    skip_filing_numbers: bool = False,
) -> str:
    """Replace the matches of `pattern` that `is_valid` accepts, counting them under `kind`; with
    `skip_filing_numbers`, not those right after a 备 (see `_after_filing_mark`)."""

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if is_valid(found) and not (skip_filing_numbers and _after_filing_mark(match)):
            counts[kind] += 1
            return placeholder
        return found

    return pattern.sub(replace, text)
