"""Real crawl files, quirk by quirk: every HTML response becomes a document with its URL and intact text.

Each test writes its own archive: WARC/0.18 records as ClueWeb09 wrote them (raw bytes: warcio writes only 1.0
and 1.1), WARC/1.1, HTTP bodies with content and transfer encodings, pages in legacy charsets declared in the
HTTP header, only in a <meta> tag, or nowhere, and responses with no or a wrong Content-Type. Ingest runs
through the real stage (`run_ingest`, local executor); a known sentence of each page, in the page's language,
must come out of the `text` column intact, real non-HTML responses stay `warc:not_html`, and counts add up.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from stages.core.dataset import open_dataset, open_rejects
from stages.core.stage import REASON_COLUMN
from stages.ingest import IngestConfig, plan_shards
from stages.ingest.html_sniffing import looks_like_html
from stages.ingest.run import run_ingest
from stages.ingest.warc_reader import read_warc_shard
from tests.stages.ingest.warc_builder import chunked

try:
    import brotli
except ImportError:  # pragma: no cover - brotli is optional
    brotli = None

# Known sentences, each in its page's language (public-domain texts: Soseki, Lu Xun, the Analects, Tao
# Yuanming, Tolstoy, Pushkin). The second ones hold a character that only the superset codec browsers use can
# decode: 镕 is GBK but not GB2312, ① is cp932 but not Shift_JIS, 哋/咗/嘅 are Big5-HKSCS but not Big5.
JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
JAPANESE_CP932 = "第①章　何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。"
JAPANESE_MORE = [
    "吾輩はここで始めて人間というものを見た。しかもあとで聞くとそれは書生という人間中で一番獰悪な種族であったそうだ。",
    "私はその人を常に先生と呼んでいた。だからここでもただ先生と書くだけで本名は打ち明けない。"
    "これは世間を憚かる遠慮というよりも、その方が私にとって自然だからである。",
    "私が先生と知り合いになったのは鎌倉である。その時私はまだ若々しい書生であった。暑中休暇を利用して海水浴に行った"
    "友達からぜひ来いという端書を受け取ったので、私は多少の金を工面して、出掛ける事にした。",
]
CHINESE = "今天晚上，很好的月光。我不见他，已是三十多年；今天见了，精神分外爽快。"
CHINESE_GBK = "朱镕基总理在北京会见了来访的代表团，双方就经济合作交换了意见。"
CHINESE_MORE = [
    "我冒了严寒，回到相隔二千余里，别了二十余年的故乡去。时候既然是深冬；渐近故乡时，天气又阴晦了，冷风吹进船舱中，"
    "呜呜的响，从篷隙向外一望，苍黄的天底下，远近横着几个萧索的荒村，没有一些活气。",
    "我的心禁不住悲凉起来了。阿！这不是我二十年来时时记得的故乡？我所记得的故乡全不如此。我的故乡好得多了。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。这首诗写的是在寂静的月夜思念家乡的感受。",
]
TRADITIONAL = "學而時習之，不亦說乎？有朋自遠方來，不亦樂乎？人不知而不慍，不亦君子乎？"
TRADITIONAL_HKSCS = "我哋今日去咗飲茶，佢話呢度嘅點心好好食。"
TRADITIONAL_MORE = [
    "晉太元中，武陵人捕魚為業。緣溪行，忘路之遠近。忽逢桃花林，夾岸數百步，中無雜樹，芳草鮮美，落英繽紛。"
    "漁人甚異之，復前行，欲窮其林。",
    "林盡水源，便得一山，山有小口，彷彿若有光。便舍船，從口入。初極狹，纔通人。復行數十步，豁然開朗。",
    "三人行，必有我師焉。擇其善者而從之，其不善者而改之。溫故而知新，可以為師矣。",
]
RUSSIAN = "Все счастливые семьи похожи друг на друга, каждая несчастливая семья несчастлива по-своему."
RUSSIAN_MORE = [
    "Всё смешалось в доме Облонских. Жена узнала, что муж был в связи с бывшею в их доме "
    "француженкою-гувернанткой, и объявила мужу, что не может жить с ним в одном доме.",
    "Мороз и солнце; день чудесный! Ещё ты дремлешь, друг прелестный — пора, красавица, проснись: "
    "открой сомкнуты негой взоры навстречу северной Авроры, звездою севера явись!",
    "Вечор, ты помнишь, вьюга злилась, на мутном небе мгла носилась; луна, как бледное пятно, "
    "сквозь тучи мрачные желтела, и ты печальная сидела.",
]
ENGLISH_MORE = [
    "The mill by the river ground grain for the whole valley for two hundred years, and the miller kept a "
    "ledger of every sack that crossed his threshold.",
    "When the railway came, the farmers sent their wheat to the city instead, and the wheel turned only "
    "for the visitors who walked up from the station on summer afternoons.",
]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
UTF8_BOM = b"\xef\xbb\xbf"


def html_page(sentence: str, more: list[str], lang: str, head: str = "", doctype: bool = True) -> str:
    paragraphs = "".join(f"<p>{text}</p>\n" for text in [sentence, *more])
    return (
        ("<!DOCTYPE html>\n" if doctype else "")
        + f'<html lang="{lang}">\n<head>{head}<title>{sentence[:12]}</title></head>\n<body>\n'
        + '<nav><a href="/">Home</a> | <a href="/about">About</a></nav>\n'
        + f"<article>\n<h1>{sentence[:12]}</h1>\n{paragraphs}</article>\n"
        + "<footer>Copyright 2009</footer>\n</body>\n</html>\n"
    )


def meta_charset(label: str, http_equiv: bool) -> str:
    if http_equiv:
        return f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'
    return f'<meta charset="{label}">'


@dataclass
class Response:
    """One response record to write, and what ingest must make of it."""

    url: str
    body: bytes
    headers: list[tuple[str, str]]
    sentence: str | None  # the sentence its document must contain; None: not HTML, rejected
    status: str = "200 OK"
    reason: str = "warc:not_html"

    @property
    def is_html(self) -> bool:
        return self.sentence is not None


@dataclass
class QuirkFile:
    name: str
    responses: list[Response]
    content: bytes = b""  # also holds records that are not responses (warcinfo...): never rows


def html_response(
    url: str, page: str, sentence: str, codec: str = "utf-8", charset: str | None = "utf-8", **headers: str
) -> Response:
    content_type = "text/html" if charset is None else f"text/html; charset={charset}"
    named = [("Content-Type", content_type)] + [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Response(url, page.encode(codec), named, sentence)


def write_warc(responses: list[Response], version: str = "1.0", compress: bool = True) -> bytes:
    """Responses written by warcio (one gzip member per record, as Common Crawl writes them)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress, warc_version=version)
    writer.write_record(writer.create_warcinfo_record("quirks.warc.gz", {"software": "lmforge tests"}))
    for response in responses:
        http_headers = StatusAndHeaders(response.status, response.headers, protocol="HTTP/1.1")
        record = writer.create_warc_record(
            response.url, "response", payload=io.BytesIO(response.body), http_headers=http_headers
        )
        writer.write_record(record)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------
# The quirk files


def charset_file() -> QuirkFile:
    """Six legacy charsets, each declared in the HTTP header, only in a <meta> tag, or nowhere at all."""
    languages = [
        # (label as declared, codec the page is really in, sentence, more text, lang, meta as http-equiv)
        ("EUC-JP", "euc_jp", JAPANESE, JAPANESE_MORE, "ja", True),
        ("Shift_JIS", "cp932", JAPANESE_CP932, JAPANESE_MORE, "ja", False),
        ("GB2312", "gbk", CHINESE_GBK, CHINESE_MORE, "zh-CN", True),
        ("GBK", "gbk", CHINESE, CHINESE_MORE, "zh-CN", False),
        ("Big5", "big5hkscs", TRADITIONAL_HKSCS, TRADITIONAL_MORE, "zh-TW", True),
        ("windows-1251", "cp1251", RUSSIAN, RUSSIAN_MORE, "ru", False),
    ]
    responses = []
    for label, codec, sentence, more, lang, http_equiv in languages:
        slug = label.lower().replace("_", "-")
        # detection needs no superset character: the plain sentence, so what it finds must decode it
        plain = {"cp932": JAPANESE, "gbk": CHINESE, "big5hkscs": TRADITIONAL}.get(codec, sentence)
        responses += [
            html_response(
                f"http://{slug}.example/http", html_page(sentence, more, lang), sentence, codec, label
            ),
            html_response(
                f"http://{slug}.example/meta",
                html_page(sentence, more, lang, head=meta_charset(label, http_equiv)),
                sentence,
                codec,
                charset=None,
            ),
            html_response(
                f"http://{slug}.example/undeclared", html_page(plain, more, lang), plain, codec, charset=None
            ),
        ]
    responses += [
        # a UTF-8 BOM and nothing else; then a BOM that overrides a wrong header, as in browsers
        Response(
            "http://bom.example/plain",
            UTF8_BOM + html_page(RUSSIAN, JAPANESE_MORE, "ru").encode(),
            [("Content-Type", "text/html")],
            RUSSIAN,
        ),
        Response(
            "http://bom.example/wrong-header",
            UTF8_BOM + html_page(JAPANESE, JAPANESE_MORE, "ja").encode(),
            [("Content-Type", "text/html; charset=windows-1251")],
            JAPANESE,
        ),
        # nginx's default `charset utf-8` in front of a GBK page that says so in its <meta>
        html_response(
            "http://gbk.example/utf8-header",
            html_page(CHINESE_GBK, CHINESE_MORE, "zh-CN", head=meta_charset("gb2312", True)),
            CHINESE_GBK,
            "gbk",
            "utf-8",
        ),
        # Apache's old default ISO-8859-1 in front of a UTF-8 page
        html_response(
            "http://latin1.example/utf8-page",
            html_page(RUSSIAN, RUSSIAN_MORE, "ru"),
            RUSSIAN,
            "utf-8",
            "ISO-8859-1",
        ),
        # XHTML whose only declaration is its XML declaration
        Response(
            "http://xhtml.example/euc-jp",
            (
                '<?xml version="1.0" encoding="EUC-JP"?>\n'
                + html_page(JAPANESE, JAPANESE_MORE, "ja", doctype=False)
            ).encode("euc_jp"),
            [("Content-Type", "application/xhtml+xml")],
            JAPANESE,
        ),
        # a label no codec answers to: the meta tag decides
        html_response(
            "http://unknown-label.example/",
            html_page(RUSSIAN, RUSSIAN_MORE, "ru", head=meta_charset("windows-1251", False)),
            RUSSIAN,
            "cp1251",
            "x-no-such-charset",
        ),
    ]
    return QuirkFile("charsets.warc.gz", responses, write_warc(responses))


def encoding_file() -> QuirkFile:
    """Bodies as crawlers store them: encoded and chunked as sent, or decoded with or without the header."""
    page = html_page(RUSSIAN, RUSSIAN_MORE, "ru").encode()
    page_ja = html_page(JAPANESE, JAPANESE_MORE, "ja").encode()
    raw_deflate = zlib.compressobj(wbits=-15)
    raw_deflated = raw_deflate.compress(page_ja) + raw_deflate.flush()
    long_page = html_page(RUSSIAN, RUSSIAN_MORE * 40, "ru").encode()
    gzipped_long = gzip.compress(long_page)

    def response(url: str, body: bytes, sentence: str = RUSSIAN, **headers: str) -> Response:
        named = [("Content-Type", "text/html; charset=utf-8")] + [
            (k.replace("_", "-"), v) for k, v in headers.items()
        ]
        return Response(url, body, named, sentence)

    responses = [
        response("http://enc.example/gzip", gzip.compress(page), Content_Encoding="gzip"),
        response("http://enc.example/x-gzip", gzip.compress(page), Content_Encoding="x-gzip"),
        response("http://enc.example/deflate", zlib.compress(page_ja), JAPANESE, Content_Encoding="deflate"),
        response("http://enc.example/raw-deflate", raw_deflated, JAPANESE, Content_Encoding="deflate"),
        response("http://enc.example/zstd", zstandard.compress(page), Content_Encoding="zstd"),
        response("http://enc.example/chunked", chunked(page, 64), Transfer_Encoding="chunked"),
        response(
            "http://enc.example/chunked-gzip",
            chunked(gzip.compress(page_ja), 50),
            JAPANESE,
            Transfer_Encoding="chunked",
            Content_Encoding="gzip",
        ),
        response(
            "http://enc.example/lowercase-names",
            chunked(gzip.compress(page), 80),
            **{"transfer_encoding": "chunked", "content_encoding": "gzip"},
        ),
        # Common Crawl style: body stored decoded, the original header renamed
        response("http://enc.example/x-crawler", page, X_Crawler_Content_Encoding="gzip"),
        # the header kept although the body was stored decoded (older crawls, some proxies)
        response("http://enc.example/decoded-gzip", page, Content_Encoding="gzip"),
        response("http://enc.example/decoded-chunked", page_ja, JAPANESE, Transfer_Encoding="chunked"),
        # a charset where an encoding belongs, as some servers send it
        response("http://enc.example/bogus-encoding", page, Content_Encoding="UTF-8"),
        # a crawler that cut the compressed body: what decodes is kept
        response(
            "http://enc.example/truncated-gzip",
            gzipped_long[: len(gzipped_long) // 2],
            Content_Encoding="gzip",
        ),
    ]
    if brotli is not None:
        responses.append(response("http://enc.example/br", brotli.compress(page), Content_Encoding="br"))
    responses.append(
        Response(
            "http://enc.example/logo.png",
            gzip.compress(PNG),
            [("Content-Type", "image/png"), ("Content-Encoding", "gzip")],
            None,
        )
    )
    return QuirkFile("encodings.warc.gz", responses, write_warc(responses))


def content_type_file() -> QuirkFile:
    """No Content-Type, a wrong one, an upper-case one; and real non-HTML that must stay rejected."""
    page = html_page(CHINESE, CHINESE_MORE, "zh-CN")
    sniffable = (
        "\n  <!-- generated by a CMS -->\n<html><head><title>x</title></head><body><article>"
        + "".join(f"<p>{text}</p>" for text in [TRADITIONAL, *TRADITIONAL_MORE])
        + "</article></body></html>"
    )
    responses = [
        Response("http://ctype.example/none", page.encode(), [("Server", "Apache")], CHINESE),
        Response(
            "http://ctype.example/octet-stream",
            UTF8_BOM + sniffable.encode(),
            [("Content-Type", "application/octet-stream")],
            TRADITIONAL,
        ),
        Response(
            "http://ctype.example/text-plain",
            html_page(RUSSIAN, RUSSIAN_MORE, "ru", doctype=False).encode(),
            [("Content-Type", "text/plain; charset=utf-8")],
            RUSSIAN,
        ),
        Response(
            "http://ctype.example/upper-case",
            html_page(JAPANESE, JAPANESE_MORE, "ja").encode("cp932"),
            [("content-type", 'TEXT/HTML; Charset="Shift_JIS"')],
            JAPANESE,
        ),
        Response("http://ctype.example/logo.png", PNG, [("Content-Type", "image/png")], None),
        Response("http://ctype.example/untyped.png", PNG, [], None),
        Response("http://ctype.example/paper", PDF, [("Content-Type", "application/octet-stream")], None),
        Response(
            "http://ctype.example/api",
            json.dumps({"html": "<html><body>not a page</body></html>"}).encode(),
            [("Content-Type", "application/json")],
            None,
        ),
        Response(
            "http://ctype.example/notes.txt",
            " ".join(ENGLISH_MORE).encode(),
            [("Content-Type", "text/plain")],
            None,
        ),
    ]
    return QuirkFile("content_types.warc.gz", responses, write_warc(responses))


def warc_11_file() -> QuirkFile:
    responses = [
        html_response(
            "http://v11.example/ja", html_page(JAPANESE, JAPANESE_MORE, "ja"), JAPANESE, "euc_jp", "euc-jp"
        ),
        html_response("http://v11.example/ru", html_page(RUSSIAN, RUSSIAN_MORE, "ru"), RUSSIAN),
        Response("http://v11.example/logo.png", PNG, [("Content-Type", "image/png")], None),
    ]
    content = write_warc(responses, version="1.1")
    assert b"WARC/1.1\r\n" in gzip.decompress(content)
    return QuirkFile("v11.warc.gz", responses, content)


def clueweb_record(
    warc_type: str,
    block: bytes,
    number: int,
    url: str | None = None,
    content_type: str | None = "application/http;msgtype=response",
    eol: bytes = b"\r\n",
    length_error: int = 0,
) -> bytes:
    """A record as ClueWeb09 wrote it: WARC/0.18, an impossible date, an empty header, a TREC id."""
    lines = [
        b"WARC/0.18",
        b"WARC-Type: " + warc_type.encode(),
        b"WARC-Target-URI: " + (url or "").encode(),
        b"WARC-Warcinfo-ID: 993d3969-9643-4934-b1c6-68d4dbe55b83",
        b"WARC-Date: 2009-03-65T08:43:19-0800",
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-%012d>" % number,
        b"WARC-TREC-ID: clueweb09-en0000-00-%05d" % number,
    ]
    if content_type:
        lines.append(b"Content-Type: " + content_type.encode())
    lines += [b"WARC-Identified-Payload-Type: ", b"Content-Length: %d" % (len(block) + length_error)]
    return eol.join(lines) + eol + eol + block + eol + eol


def http_block(
    body: bytes, headers: list[str], status: str = "HTTP/1.1 200 OK", eol: bytes = b"\r\n"
) -> bytes:
    return eol.join(line.encode() for line in [status, *headers]) + eol + eol + body


def warc_018_file() -> QuirkFile:
    """ClueWeb09-style WARC/0.18 records, with the framing faults real files of that era have."""
    english = html_page(
        "The ClueWeb page keeps its words through every layer of the crawl.", ENGLISH_MORE, "en"
    )
    responses = [
        Response(
            "http://clueweb.example/plain", english.encode(), [], english.split("<p>")[1].split("</p>")[0]
        ),
        Response(
            "http://clueweb.example/lf-http",
            html_page(JAPANESE, JAPANESE_MORE, "ja").encode("cp932"),
            [],
            JAPANESE,
        ),
        Response(
            "http://clueweb.example/short-length",
            html_page(RUSSIAN, RUSSIAN_MORE, "ru").encode("cp1251"),
            [],
            RUSSIAN,
        ),
        Response(
            "http://clueweb.example/lf-warc",
            html_page(CHINESE, CHINESE_MORE, "zh-CN").encode("gbk"),
            [],
            CHINESE,
        ),
        Response(
            "http://clueweb.example/no-warc-content-type",
            html_page(TRADITIONAL, TRADITIONAL_MORE, "zh-TW").encode("big5"),
            [],
            TRADITIONAL,
        ),
        Response(
            "http://clueweb.example/http10-untyped",
            english.encode(),
            [],
            english.split("<p>")[1].split("</p>")[0],
        ),
        Response("http://clueweb.example/logo.png", PNG, [], None),
    ]
    warcinfo = b"software: Nutch 1.0-dev (modified for clueweb09)\r\nformat: WARC file version 0.18\r\n"
    records = [
        clueweb_record("warcinfo", warcinfo, 0, content_type="application/warc-fields"),
        clueweb_record(
            "response", http_block(responses[0].body, ["Content-Type: text/html"]), 1, responses[0].url
        ),
        clueweb_record(
            "response",
            http_block(responses[1].body, ["Content-Type: text/html; charset=Shift_JIS"], eol=b"\n"),
            2,
            responses[1].url,
        ),
        # ClueWeb09's best-known fault: a Content-Length that falls short of the record
        clueweb_record(
            "response",
            http_block(responses[2].body, ["Content-Type: text/html; charset=windows-1251"]),
            3,
            responses[2].url,
            length_error=-7,
        ),
        clueweb_record(
            "response",
            http_block(responses[3].body, ["Content-Type: text/html; charset=gb2312"], eol=b"\n"),
            4,
            responses[3].url,
            eol=b"\n",
        ),
        clueweb_record(
            "response",
            http_block(responses[4].body, ["Content-Type: text/html; charset=big5"]),
            5,
            responses[4].url,
            content_type=None,
        ),
        clueweb_record(
            "response", http_block(responses[5].body, [], status="HTTP/1.0 200"), 6, responses[5].url
        ),
        clueweb_record("response", http_block(PNG, ["Content-Type: image/png"]), 7, responses[6].url),
    ]
    return QuirkFile("clueweb09.warc.gz", responses, gzip.compress(b"".join(records)))


def fallback_file() -> QuirkFile:
    """A record fastwarc cannot frame (lower-case `content-length`): warcio reads the file instead."""
    first = html_response("http://fallback.example/1", html_page(RUSSIAN, RUSSIAN_MORE, "ru"), RUSSIAN)
    second = html_response(
        "http://fallback.example/2", html_page(CHINESE, CHINESE_MORE, "zh"), CHINESE, "gbk", "gbk"
    )
    third = html_response("http://fallback.example/3", html_page(JAPANESE, JAPANESE_MORE, "ja"), JAPANESE)
    plain = write_warc([first, second, third], compress=False)
    marker = b"WARC-Target-URI: http://fallback.example/2"
    start = plain.rfind(b"WARC/1.0", 0, plain.index(marker))
    end = plain.index(b"\r\n\r\n", start)
    plain = plain[:start] + plain[start:end].replace(b"Content-Length", b"content-length") + plain[end:]
    return QuirkFile("fallback.warc", [first, second, third], plain)


def arc_file() -> QuirkFile:
    """An ARC file (the Internet Archive's format before WARC), read by warcio."""
    page = html_page(RUSSIAN, RUSSIAN_MORE, "ru").encode("cp1251")
    responses = [
        Response("http://arc.example/ru", page, [], RUSSIAN),
        Response("http://arc.example/logo.png", PNG, [], None),
    ]
    version = b"1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n\n"
    records = [b"filedesc://sample.arc 0.0.0.0 20010101000000 text/plain %d\n%s\n" % (len(version), version)]
    for response, content_type, headers in [
        (responses[0], b"text/html", ["Content-Type: text/html; charset=windows-1251"]),
        (responses[1], b"image/png", ["Content-Type: image/png"]),
    ]:
        block = http_block(response.body, headers, status="HTTP/1.0 200 OK")
        header = b"%s 192.0.2.1 20010101000000 %s %d\n" % (response.url.encode(), content_type, len(block))
        records.append(header + block + b"\n")
    return QuirkFile("sample.arc.gz", responses, b"".join(gzip.compress(r) for r in records))


QUIRK_FILES = {
    "charsets": charset_file,
    "encodings": encoding_file,
    "content_types": content_type_file,
    "warc_1_1": warc_11_file,
    "warc_0_18": warc_018_file,
    "fastwarc_fallback": fallback_file,
    "arc": arc_file,
}


@dataclass
class Ingested:
    documents: dict[str, dict]
    rejects: dict[str, str]
    rows_in: int
    rows_out: int
    dropped: dict[str, int]


def ingest(quirk: QuirkFile, directory: Path) -> Ingested:
    path = directory / quirk.name
    path.write_bytes(quirk.content)
    output = directory / f"{quirk.name}.ingested"
    manifest = run_ingest(IngestConfig(), [path], output, executor="local")
    documents = {row["url"]: row for row in open_dataset(output).to_table().to_pylist()}
    rejected = open_rejects(output).to_table()
    rejects = dict(
        zip(rejected.column("url").to_pylist(), rejected.column(REASON_COLUMN).to_pylist(), strict=True)
    )
    return Ingested(documents, rejects, manifest.rows_in, manifest.rows_out, manifest.dropped)


@pytest.mark.parametrize("name", QUIRK_FILES)
def test_every_html_response_becomes_a_document_with_its_text(name: str, tmp_path: Path) -> None:
    quirk = QUIRK_FILES[name]()
    result = ingest(quirk, tmp_path)
    html = [response for response in quirk.responses if response.is_html]
    kept = [response.url for response in html if response.url in result.documents]
    assert kept == [response.url for response in html], f"{len(kept)} of {len(html)} HTML responses kept"
    for response in html:
        document = result.documents[response.url]
        assert response.sentence in document["text"], (response.url, document["text"][:300])
        assert "\ufffd" not in document["text"], response.url
    not_html = {response.url: response.reason for response in quirk.responses if not response.is_html}
    assert result.rejects == not_html
    # every response is one row, and every row is kept or dropped with a reason
    assert result.rows_in == len(quirk.responses)
    assert result.rows_in == result.rows_out + sum(result.dropped.values())


def test_documents_record_how_their_text_was_decoded(tmp_path: Path) -> None:
    result = ingest(charset_file(), tmp_path)
    meta = {url: json.loads(document["meta"]) for url, document in result.documents.items()}
    assert meta["http://euc-jp.example/meta"]["charset"] == "euc_jp"
    assert meta["http://euc-jp.example/meta"]["charset_source"] == "meta"
    assert meta["http://gb2312.example/http"]["charset"] == "gb18030"  # pages labelled GB2312 are GBK or more
    assert meta["http://shift-jis.example/meta"]["charset"] == "cp932"
    assert meta["http://big5.example/meta"]["charset"] == "big5hkscs"
    assert meta["http://windows-1251.example/undeclared"]["charset_source"] == "detected"
    assert meta["http://bom.example/wrong-header"]["charset_source"] == "bom"
    assert meta["http://gbk.example/utf8-header"]["charset_source"] == "meta"
    assert meta["http://latin1.example/utf8-page"]["charset"] == "utf-8"
    assert not any(document.get("decode_errors") for document in meta.values())


def test_undecodable_bytes_are_counted_not_fatal(tmp_path: Path) -> None:
    page = html_page(RUSSIAN, RUSSIAN_MORE, "ru").encode("utf-8")
    broken = page.replace("Облонских".encode(), b"\xff\xfe\xfd")  # three bytes no UTF-8 text has
    quirk = QuirkFile(
        "broken.warc.gz",
        [Response("http://broken.example/", broken, [("Content-Type", "text/html; charset=utf-8")], RUSSIAN)],
    )
    quirk.content = write_warc(quirk.responses)
    result = ingest(quirk, tmp_path)
    document = result.documents["http://broken.example/"]
    assert RUSSIAN in document["text"]
    assert json.loads(document["meta"])["decode_errors"] == 3


@pytest.mark.parametrize("name", ["charsets", "encodings", "content_types", "warc_0_18"])
def test_fastwarc_and_warcio_read_the_same_records(name: str, tmp_path: Path) -> None:
    quirk = QUIRK_FILES[name]()
    path = tmp_path / quirk.name
    path.write_bytes(quirk.content)
    config = IngestConfig()
    [shard] = plan_shards([path], config)
    fast = [table.to_pylist() for table in read_warc_shard(shard, config, use_fastwarc=True)]
    fallback = [table.to_pylist() for table in read_warc_shard(shard, config, use_fastwarc=False)]
    assert fast == fallback


def test_documents_say_when_html_was_sniffed_or_a_body_kept_as_stored(tmp_path: Path) -> None:
    sniffed = ingest(content_type_file(), tmp_path)
    meta = {url: json.loads(document["meta"]) for url, document in sniffed.documents.items()}
    assert meta["http://ctype.example/octet-stream"]["html_sniffed"] is True
    assert meta["http://ctype.example/octet-stream"]["declared_content_type"] == "application/octet-stream"
    assert meta["http://ctype.example/none"]["html_sniffed"] is True
    assert "declared_content_type" not in meta["http://ctype.example/none"]
    assert "html_sniffed" not in meta["http://ctype.example/upper-case"]
    encoded = ingest(encoding_file(), tmp_path)
    notes = {
        url: json.loads(document["meta"]).get("http_decode_note")
        for url, document in encoded.documents.items()
    }
    assert notes["http://enc.example/gzip"] is None
    assert notes["http://enc.example/x-crawler"] is None  # Common Crawl's renamed header is not decoded again
    assert "kept as stored" in notes["http://enc.example/decoded-gzip"]
    assert "kept as stored" in notes["http://enc.example/bogus-encoding"]
    assert "ends early" in notes["http://enc.example/truncated-gzip"]


@pytest.mark.parametrize(
    ("body", "is_html"),
    [
        (b"<!DOCTYPE html><html><body>x</body></html>", True),
        (UTF8_BOM + b"\r\n <!-- cms --> <HTML lang=en>", True),
        (b"\xff\xfe" + "<html><body>x</body></html>".encode("utf-16-le"), True),
        (b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">', True),
        (b"<p>a paragraph</p>", True),
        (PNG, False),
        (PDF, False),
        (b'{"html": "<html>"}', False),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', False),
        (b"<brown fox>", False),
        (b"plain text, no markup", False),
    ],
)
def test_html_is_sniffed_from_how_the_body_opens(body: bytes, is_html: bool) -> None:
    assert looks_like_html(body) is is_html
