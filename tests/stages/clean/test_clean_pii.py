"""PiiRedactor: each kind is replaced and counted; numbers that are not PII (years, prices, dates) stay.

Chinese rules: planted mobile, landline, ID and card numbers in Chinese contexts are all found; real crawl lines
with ordinary numbers are left; English text is redacted exactly as without them."""

from __future__ import annotations

import json
import re
from pathlib import Path

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
    ("text", "expected"),
    [
        ("简历请发送至name@qq.com", "简历请发送至<EMAIL>"),
        ("邮箱：hr.team@example.com.cn联系我们", "邮箱：<EMAIL>联系我们"),
        ("联系zhang_san@163.com。", "联系<EMAIL>。"),
    ],
)
def test_emails_touching_chinese_characters(redactor: PiiRedactor, text: str, expected: str) -> None:
    """Python's regex counts Han as a word character, so a word-boundary rule would miss all of these."""
    redaction = redactor.redact(text)
    assert redaction.text == expected and redaction.counts["email"] == 1


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


# Chinese PII ------------------------------------------------------------------------------------------------

DATA = Path(__file__).parent / "data"
PLANTED = json.loads((DATA / "pii_zh_planted.json").read_text(encoding="utf-8"))
PLACEHOLDERS = {"phone": "<PHONE>", "id_number": "<ID_NUMBER>", "credit_card": "<CREDIT_CARD>"}
PLANTED_CASES = [
    pytest.param(kind, value, context, id=f"{kind}:{value}:{index}")
    for kind in PLACEHOLDERS
    for value in PLANTED[kind]
    for index, context in enumerate(PLANTED["contexts"])
]
CHINESE_RULES_OFF = PiiConfig(chinese_phone_numbers=False, chinese_bank_cards=False, chinese_id_numbers=False)


def crawl_negative_lines() -> list[str]:
    lines = (DATA / "pii_zh_crawl_negatives.txt").read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines if line and not line.startswith("#")]


def test_word_boundaries_fail_between_han_and_digits() -> None:
    """Why the Chinese rules exist: Python's `\\b` and `\\w` treat Han characters as word characters."""
    assert re.search(r"\b1[3-9]\d{9}\b", "电话13812345678联系") is None
    assert PiiRedactor(CHINESE_RULES_OFF).redact("电话13812345678联系").counts == {}


@pytest.mark.parametrize(("kind", "value", "context"), PLANTED_CASES)
def test_every_planted_chinese_value_is_redacted(
    redactor: PiiRedactor, kind: str, value: str, context: str
) -> None:
    redaction = redactor.redact(context.format(value))
    assert redaction.text == context.format(PLACEHOLDERS[kind])
    assert redaction.counts == {kind: 1}


def test_planted_id_numbers_are_valid_by_the_definition_of_iso_7064_mod_11_2() -> None:
    """Checks the test data independently of pii.py's weight table: weight of position i is 2**(17-i) mod 11,
    and the check character makes the weighted sum of all 18 (X = 10) congruent to 1 mod 11."""
    for number in PLANTED["id_number"]:
        values = [10 if character in "Xx" else int(character) for character in number]
        assert sum(value * pow(2, 17 - index, 11) for index, value in enumerate(values)) % 11 == 1, number


def test_planted_card_numbers_pass_luhn() -> None:
    for number in PLANTED["credit_card"]:
        assert passes_luhn(re.sub(r"\D", "", number)), number


def test_a_contact_block_counts_each_kind() -> None:
    text = (
        "联系人：王先生 手机：13812345678 电话：(0755)8765-4321 传真0755-87654322\n"
        "身份证号11010519491231002X，开户行：建设银行，账号6222021234567894。服务热线400-800-1234"
    )
    redaction = PiiRedactor(PiiConfig()).redact(text)
    assert redaction.text == (
        "联系人：王先生 手机：<PHONE> 电话：<PHONE> 传真<PHONE>\n"
        "身份证号<ID_NUMBER>，开户行：建设银行，账号<CREDIT_CARD>。服务热线<PHONE>"
    )
    assert redaction.counts == {"phone": 4, "id_number": 1, "credit_card": 1}


def test_an_id_number_that_also_passes_luhn_counts_as_an_id(redactor: PiiRedactor) -> None:
    assert passes_luhn("440305199003070356")
    assert redactor.redact("身份证：440305199003070356").counts == {"id_number": 1}


@pytest.mark.parametrize("line", crawl_negative_lines())
def test_real_chinese_lines_with_ordinary_numbers_are_left(redactor: PiiRedactor, line: str) -> None:
    redaction = redactor.redact(line)
    assert redaction.text == line
    assert redaction.counts == {}


@pytest.mark.parametrize(
    "text",
    [
        "活动日期20231015，即2023年10月15日开始。",
        "售价¥1999.00，原价￥2,599元，优惠价1999元。",
        "订单号：202310151234567890，物流单号SF1234567890123。",
        "ISBN 978-7-111-54742-6，即ISBN9787111547426。",
        "时间戳1697354400，毫秒时间戳1697354400123。",
        "QQ：2370514830，QQ群123456789。",
        "身份证号校验位错误：110105194912310021；日期不存在：110105194902300027。",
        "旧版15位身份证110105491231002不处理。",
        "卡号校验失败：6222021234567890。",
        "长数字里的手机号：2013812345678901，编号113812345678。",
        "京ICP备12345678号-1，京公网安备11010502026539号。",
        "版本号1.13812345678，比分13:8。",
    ],
)
def test_ordinary_chinese_numbers_are_left(redactor: PiiRedactor, text: str) -> None:
    redaction = redactor.redact(text)
    assert redaction.text == text
    assert redaction.counts == {}


def test_chinese_rules_need_han_text(redactor: PiiRedactor) -> None:
    """English text is redacted as before: a bare 11-digit number there is not taken for a Chinese mobile."""
    text = "Order 13812345678 shipped; ref 11010519491231002X."
    assert redactor.redact(text).text == text
    assert redactor.redact("订单 13812345678").counts == {"phone": 1}


def test_chinese_rules_do_not_change_english_results() -> None:
    texts = [
        "Call +44 20 7946 0958 or (415) 555-0132, mail ops@example.org, host 10.0.0.1.",
        "Paid with 4111 1111 1111 1111; Boston, MA 02110-1301; 06 12 34 56 78.",
        "Caf\u00e9 na\u00efve: 13812345678, 6222021234567894, 01 02 03 04 05.",
    ]
    for text in texts:
        assert PiiRedactor(PiiConfig()).redact(text) == PiiRedactor(CHINESE_RULES_OFF).redact(text)


def test_two_digit_lists_are_phones_only_outside_chinese_text(redactor: PiiRedactor) -> None:
    assert redactor.redact("Appelez le 06 12 34 56 78.").counts == {"phone": 1}
    assert redactor.redact("前落码：06 12 34 56 78").counts == {}
    assert PiiRedactor(CHINESE_RULES_OFF).redact("前落码：06 12 34 56 78").counts == {"phone": 1}


def test_filing_numbers_are_left_even_when_they_pass_luhn(redactor: PiiRedactor) -> None:
    line = "川公网安备 51010702000354 号"
    assert passes_luhn("51010702000354")
    assert redactor.redact(line).text == line
    assert PiiRedactor(CHINESE_RULES_OFF).redact(line).counts == {"credit_card": 1}


@pytest.mark.parametrize(
    ("switch", "text", "kept"),
    [
        ("chinese_phone_numbers", "电话13812345678联系", "13812345678"),
        ("chinese_id_numbers", "身份证号11010519491231002X。", "11010519491231002X"),
        ("chinese_bank_cards", "账号6222021234567894。", "6222021234567894"),
    ],
)
def test_chinese_kinds_can_be_switched_off(switch: str, text: str, kept: str) -> None:
    assert kept not in PiiRedactor(PiiConfig()).redact(text).text
    redaction = PiiRedactor(PiiConfig(**{switch: False})).redact(text)
    assert redaction.text == text
    assert redaction.counts == {}


def test_chinese_phones_and_cards_follow_their_general_switch() -> None:
    text = "电话13812345678，账号6222021234567894。"
    assert PiiRedactor(PiiConfig(phone_numbers=False, credit_cards=False)).redact(text).text == text
