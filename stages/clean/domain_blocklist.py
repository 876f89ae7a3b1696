"""URL domain blocklist: the cheapest rule, so the clean stage runs it before touching the text.

Besides listed domains it knows three shapes of spam URL measured on a random sample of Chinese crawl pages (HPLT
release 1.2; see tests/stages/clean/data/zh_spam_labels.jsonl): hosts under top-level domains that only spam
farms used (`4122.loan`, `www.55500.download`), and hosts with a machine-generated subdomain label
(`m4z98r.27994.lkjncieb.top`, `xsgdz.brhwd.top`), which wildcard-DNS farms mint for every page, and the path a
porn-spam kit gives the pages it plants on hacked company sites (`mic998.com/mic998_316836_222965_227739/`).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from stages.clean.config import DomainBlocklistConfig
from stages.clean.drop import Drop

BUILTIN_LIST = "blocked_domains.txt"

SECOND_LEVEL_LABELS = frozenset({"com", "net", "org", "gov", "edu", "ac", "co"})
"""Second-level labels under which country-code TLDs register names (`example.com.cn`, `example.co.uk`)."""

ALPHANUMERIC_RUN = re.compile(r"[a-z]+|[0-9]+")
ALPHANUMERIC_LABEL = re.compile(r"[a-z0-9]{5,}")
SPAM_PATH = re.compile(r"/[a-z0-9]+_\d{3,}_\d{3,}_\d{3,}(?:\.html?)?/?$")
"""A last path segment of a word and three numbers of 3+ digits joined by underscores (`/029tjyy_31695_25655_22157
.html`): found on the dev and extra labelled pages (8 pages, all adult spam planted on hacked sites); on the whole
1,000-page sample its 16 matches are all such pages."""


def read_list_file(text: str) -> list[str]:
    """Entries of a one-per-line list file, lowercased, without blank lines and `#` comments."""
    entries = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return [entry for entry in entries if entry]


def url_host(url: str) -> str | None:
    """The lowercased host of `url`, also for scheme-less URLs such as `example.com/page`."""
    if "//" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def subdomain_labels(host: str) -> list[str]:
    """The labels of `host` left of its registered name: `a.b.example.com.cn` gives `["a", "b"]`. Approximate
    (no public-suffix list): a two-letter TLD under com/net/org/gov/edu/ac/co counts as one suffix."""
    labels = host.split(".")
    suffix = 2 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in SECOND_LEVEL_LABELS else 1
    return labels[: -(suffix + 1)]


def url_path(url: str) -> str:
    """The lowercased path of `url` (no query, no fragment), also for scheme-less URLs; "" when unparseable."""
    if "//" not in url:
        url = "//" + url
    try:
        return urlsplit(url).path.lower()
    except ValueError:
        return ""


PINYIN_TABLE = """
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu ca cai can
cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian
diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou
fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao
he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong
jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la
lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu lo long lou lu luan lue lun luo
ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei
nen neng ni nia nian niang niao nie nin ning niu nong nou nu nuan nue nun nuo o ou pa pai pan pang pao
pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan
que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha
shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou
su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan tui tun tuo
wa wai wan wang wei wen weng wo wong wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya
yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai
zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong
zou zu zuan zui zun zuo
"""
PINYIN_SYLLABLES = frozenset(PINYIN_TABLE.split())
"""The syllables of Hanyu Pinyin without tones (`ü` as `v`), as pypinyin's dictionary spells them: Chinese sites
name their hosts in pinyin (`quanzhou`, `xiangheshicai`), which this tells from generated letters."""
VETTED_SUFFIXES = ("gov.cn", "edu.cn", "gov", "edu")
"""Registries that vet who registers (government, education): their hosts are never spam farms' wildcard names."""
LETTERS = re.compile(r"[^a-z]")
VOWELS = frozenset("aeiouy")
UNPRONOUNCEABLE_MIN_LETTERS = 5
UNPRONOUNCEABLE_MAX_VOWEL_SHARE = 0.2


def is_pinyin(letters: str) -> bool:
    """Whether `letters` splits into pinyin syllables (`zhongshan` → zhong shan): splits[i] tells whether the
    first i letters do (no cache: a crawl has millions of distinct hosts)."""
    splits = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        splits[end] = any(
            splits[end - size] and letters[end - size : end] in PINYIN_SYLLABLES
            for size in range(1, min(6, end) + 1)
        )
    return splits[-1]


def looks_unpronounceable(label: str) -> bool:
    """A label whose letters (5+, digits left out) are not pinyin and at most one in five a vowel (`xsgdz`,
    `vdhwj`, `jlwpxljo`): the letter soup a farm's generator draws, which neither pinyin nor English names are.
    On the labelled training pages (dev and extra, 607 gambling, adult, spam and good pages) the host's first
    label below its registered name (past `www`) looks so on 23 spam pages, 13 of them passed by every other URL
    rule, and on 2 good pages, whose names are initials (`thfcsws.0937.net`)."""
    letters = LETTERS.sub("", label)
    if len(letters) < UNPRONOUNCEABLE_MIN_LETTERS or is_pinyin(letters):
        return False
    return sum(letter in VOWELS for letter in letters) <= UNPRONOUNCEABLE_MAX_VOWEL_SHARE * len(letters)


def generated_label(host: str) -> str | None:
    """The label of `host` that a spam farm generated, if any: any subdomain label that `looks_random`, or an
    unpronounceable first subdomain label (past `www`); none under government and education registries."""
    if host.endswith(tuple(f".{suffix}" for suffix in VETTED_SUFFIXES)):
        return None
    labels = subdomain_labels(host)
    random_label = next((label for label in labels if looks_random(label)), None)
    if random_label is not None:
        return random_label
    named = [label for label in labels if label != "www"]
    return named[0] if named and looks_unpronounceable(named[0]) else None


def looks_random(label: str) -> bool:
    """A label of 5+ lowercase letters and digits that switches between letters and digits at least twice
    (`x5edm3`, `0e2cp`, `5pud99`), as generated names do. Names people choose rarely do (`img12`, `bbs2`, `www`);
    on the 1,000-page Chinese sample every such subdomain was a spam farm's, on 200 pages of other languages one
    user blog (`taa7yy5r.tian.yam.com`) also has one."""
    return ALPHANUMERIC_LABEL.fullmatch(label) is not None and len(ALPHANUMERIC_RUN.findall(label)) >= 3


class DomainBlocklist:
    """Rejects a document by its URL: a blocked domain or any subdomain of one, a blocked top-level domain, or a
    generated-looking subdomain label."""

    def __init__(self, config: DomainBlocklistConfig) -> None:
        self.config = config
        domains = set(config.domains)
        if config.use_builtin_list:
            builtin = resources.files("stages.clean").joinpath(BUILTIN_LIST).read_text(encoding="utf-8")
            domains.update(read_list_file(builtin))
        if config.domains_file is not None:
            domains.update(read_list_file(Path(config.domains_file).read_text(encoding="utf-8")))
        self.domains = frozenset(domain.strip(".") for domain in domains)
        self.tlds = frozenset(config.blocked_tlds)

    def blocked_domain(self, url: str | None) -> str | None:
        """The blocked domain `url` falls under, if any."""
        if not url or not self.domains:
            return None
        host = url_host(url)
        if host is None:
            return None
        labels = host.split(".")
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in self.domains:
                return candidate
        return None

    def check(self, url: str | None) -> Drop | None:
        if not self.config.enabled or not url:
            return None
        domain = self.blocked_domain(url)
        if domain is not None:
            return Drop("blocklist:domain", f"host={url_host(url)} under {domain}")
        host = url_host(url)
        if host is None:
            return None
        tld = host.rsplit(".", 1)[-1]
        if tld in self.tlds:
            return Drop("blocklist:tld", f"host={host} under blocked top-level domain .{tld}")
        if self.config.block_random_subdomains:
            random_label = generated_label(host)
            if random_label is not None:
                return Drop(
                    "blocklist:random_subdomain", f"host={host} has generated-looking label {random_label}"
                )
        if self.config.block_spam_paths:
            path = url_path(url)
            if SPAM_PATH.search(path):
                return Drop("blocklist:spam_path", f"path={path[-60:]} has the shape of planted spam pages")
        return None
