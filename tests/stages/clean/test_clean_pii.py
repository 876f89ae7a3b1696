"""PiiRedactor: each kind is replaced and counted; numbers that are not PII (years, prices, dates) stay."""

from __future__ import annotations

import pytest

from stages.clean.config import PiiConfig
from stages.clean.pii import PiiRedactor, passes_luhn


@pytest.fixture
def redactor() -> PiiRedactor:
    return PiiRedactor(PiiConfig())


def test_emails(redactor: PiiRedactor) -> None:
    redaction = redactor.redact("Write to jane.doe+news@mail.example.co.uk or to ops@example.org.")
    assert redaction.text == "Write to <EMAIL> or to <EMAIL>."
    assert redaction.counts == {"email": 2}


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415 555 0132",
        "+44 20 7946 0958",
        "+49 (0)30 1234 5678",
        "+33 6 12 34 56 78",
        "(415) 555-0132",
        "415-555-0132",
        "415.555.0132",
        "1-800-555-0199",
        "06 12 34 56 78",
        "020 7946 0958",
        "030/12345678",
    ],
)
def test_phone_numbers(redactor: PiiRedactor, phone: str) -> None:
    redaction = redactor.redact(f"Call us on {phone} today.")
    assert redaction.text == "Call us on <PHONE> today."
    assert redaction.counts == {"phone": 1}


@pytest.mark.parametrize(
    "text",
    [
        "The bridge opened in 1998 and was rebuilt between 2004 and 2006.",
        "Tickets cost $1,299.99 or €45.50, and 12,500 people came in 2019-2020.",
        "The meeting is on 01.02.2023 at 10:30, or on 2023-01-15.",
        "Boston, MA 02110-1301, USA; ISBN 978-3-16-148410-0.",
        "Version 3.11.7 of the tool; pi is 3.14159265358979.",
        "Scores were 12 34 56 and 7 8 9 in the three rounds.",
        "Use std::vector and a[::2] slices; the ratio was 12:30:45.",
    ],
)
def test_ordinary_numbers_are_not_redacted(redactor: PiiRedactor, text: str) -> None:
    redaction = redactor.redact(text)
    assert redaction.text == text
    assert redaction.counts == {}


def test_ip_addresses(redactor: PiiRedactor) -> None:
    text = (
        "Hosts 192.168.1.20, 8.8.8.8 and 2001:db8:85a3::8a2e:370:7334 answered; fe80::1ff:fe23:4567:890a too."
    )
    redaction = redactor.redact(text)
    assert redaction.text == "Hosts <IP_ADDRESS>, <IP_ADDRESS> and <IP_ADDRESS> answered; <IP_ADDRESS> too."
    assert redaction.counts == {"ip_address": 4}


def test_invalid_ipv4_octets_are_left(redactor: PiiRedactor) -> None:
    text = "Not addresses: 256.1.1.1 and 10.0.0.999 and 01.2.3.4."
    assert redactor.redact(text).text == text


def test_luhn() -> None:
    assert passes_luhn("4111111111111111")
    assert passes_luhn("378282246310005")
    assert not passes_luhn("4111111111111112")


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "3782 822463 10005",
        "5555555555554444",
    ],
)
def test_valid_card_numbers_are_redacted(redactor: PiiRedactor, card: str) -> None:
    redaction = redactor.redact(f"Paid with {card}, thanks.")
    assert redaction.text == "Paid with <CREDIT_CARD>, thanks."
    assert redaction.counts == {"credit_card": 1}


@pytest.mark.parametrize("number", ["4111 1111 1111 1112", "1234567812345670", "2019 2020 2021 2022"])
def test_numbers_failing_luhn_or_card_prefix_are_left(redactor: PiiRedactor, number: str) -> None:
    text = f"Reference {number} was noted."
    assert redactor.redact(text).text == text


@pytest.mark.parametrize(
    "key",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    ],
)
def test_api_keys(redactor: PiiRedactor, key: str) -> None:
    redaction = redactor.redact(f"export TOKEN={key} # do not share")
    assert redaction.text == "export TOKEN=<API_KEY> # do not share"
    assert redaction.counts == {"api_key": 1}


def test_words_that_look_like_key_prefixes_are_left(redactor: PiiRedactor) -> None:
    text = "The task-force asked for sk-short keys and a risk-assessment."
    assert redactor.redact(text).text == text


def test_kinds_can_be_switched_off(redactor: PiiRedactor) -> None:
    text = "Mail ops@example.org or call +44 20 7946 0958."
    assert PiiRedactor(PiiConfig(emails=False)).redact(text).text == "Mail ops@example.org or call <PHONE>."
    assert PiiRedactor(PiiConfig(enabled=False)).redact(text).text == text


def test_counts_add_up_across_kinds(redactor: PiiRedactor) -> None:
    text = "a@example.org b@example.org 10.0.0.1 (415) 555-0132 4111111111111111"
    assert redactor.redact(text).counts == {"email": 2, "ip_address": 1, "phone": 1, "credit_card": 1}
