"""The default settings of the clean rules for Chinese (`clean.languages.zh`), and where each comes from.

Numbers and word lists marked "derived" are printed by `benchmarks/derive_zh_rules.py`, which recomputes them
from Chinese text on this machine (Debian's zh_CN catalogues with their English originals, jieba's dictionary,
the hand-annotated main texts of magic-html) and fails with `--check` when these values drift from it. The
phrase lists are not derived: they were chosen by reading real boilerplate lines of HPLT's raw Chinese pages
(tests/stages/clean/data/zh_boilerplate_lines.txt), each specific enough not to occur in ordinary prose.
"""

from __future__ import annotations

# Each derived threshold is the laxer of two values: the English threshold carried over to the same content in
# Chinese (medians over 4,307 English-Chinese catalogue messages of Chinese-over-English ratios: words 0.957, mean
# word length 0.408, share of words without a letter 1.115, characters 0.389), and the value that removes at most
# 2% of the 273 reference prose paragraphs of 100+ characters (the "2nd percentile" below).

# Derived: jieba's 46 most frequent particles, prepositions and conjunctions; the parallel count is 19 (the
# Chinese translations of catalogue messages of 50+ English words then pass the two-stop-word rule as often as
# the English originals, 95.1%), but with 19 words 7% of the reference paragraphs fail; with 46, 2%.
STOP_WORDS = (
    "了", "在", "和", "的", "为", "等", "着", "对", "与", "地", "而", "之", "以", "得", "但", "从", "把", "被", "于",
    "过", "并", "或", "由", "用", "所", "向", "可以", "给", "及", "不是", "至", "如果", "同", "因为", "比", "通过",
    "自", "跟", "以及", "同时", "由于", "所以", "因", "但是", "虽然", "根据",
)  # fmt: skip

# Derived: 50 × 0.957 = 47.8 words is about 100 characters of Chinese; the words of a 100-character paragraph at
# the 2nd percentile of word density are 27.8.
MIN_WORDS = 27
MAX_WORDS = 95_652  # 100,000 × 0.957
MIN_MEAN_WORD_LENGTH = 1.22  # 3 × 0.408 (the 2nd percentile, 1.58, is stricter)
MAX_MEAN_WORD_LENGTH = 4.08  # 10 × 0.408 (the 98th percentile, 3.03, is stricter)
# Derived: 1 - 0.2 × 1.115 = 0.78 would remove a third of the reference paragraphs (Chinese prose puts a mark
# after every few words and jieba cuts numbers and `%` apart); the 2nd percentile is 0.617.
MIN_ALPHA_WORD_FRACTION = 0.61
# Derived: a Chinese term of a few words repeats within a short paragraph (`中国式现代化`); English's n-gram
# limits stand where they remove at most 2% of the reference paragraphs, the others are the 98th percentile.
MAX_TOP_NGRAM_CHAR_FRACTION = {2: 0.20, 3: 0.20, 4: 0.22}
MAX_DUPLICATE_NGRAM_CHAR_FRACTION = {5: 0.19, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
SHORT_LINE_MAX_CHARACTERS = 12  # 30 × 0.389
MAX_NEWLINE_WORD_RATIO = 0.31  # 0.3 / 0.957
MIN_WORDS_PER_LINE = 3  # 3 × 0.957, rounded (the 2nd percentile of a reference line's words is 34)
# Derived: 5 sentences carry over as 5 (a translation keeps its sentences); the 2nd percentile of a reference
# paragraph's sentences is 1.
MIN_SENTENCES = 1

# Derived: the sentence-final marks (and closing quotes right after one) that end at least 0.2% of the reference
# prose lines (`。`, `！`, `？`, `”`, `…`, `.`, `!`), with every mark that is the same under NFKC (full-width and
# small forms: `．`, `｡`, `﹒`, `﹗`, `﹖`), and `"`, which the normaliser (ftfy) makes of `”`; C4 lacks all but
# `.!?"`, FineWeb's reference list lacks `”`, `"` and `…`.
C4_LINE_ENDS = ("”", "…", "。", "﹒", "﹖", "﹗", "！", "．", "？", "｡")
FINEWEB_LINE_ENDS = ('"', "”", "…")

# Chosen by reading: C4's policy phrases, and their Chinese forms.
POLICY_PHRASES = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
    "隐私政策", "隐私声明", "隐私保护", "使用条款", "服务条款", "用户协议", "服务协议", "使用协议",
)  # fmt: skip

# Chosen by reading the collected boilerplate lines; matched in lower case anywhere in a line.
BOILERPLATE_PHRASES = (
    # copyright and licence lines
    "版权所有", "版权归", "copyright", "all rights reserved", "all right reserved", "保留所有权利", "©",
    "icp备", "icp证", "公网安备", "备案号", "备案编号", "经营许可证",
    # read more, previous and next, page furniture
    "阅读全文", "点击查看", "查看更多", "查看全部", "更多>>", "详细>>", "上一篇", "下一篇", "上一页", "下一页",
    "上一章", "下一章", "返回顶部", "打印本页", "关闭窗口", "关闭本页", "网站地图", "网站导航", "友情链接",
    "关于我们", "联系我们",
    # bylines and counters
    "责任编辑", "来源：", "来源:", "作者：", "编辑：", "发布时间", "发布日期", "浏览次数", "点击数", "阅读(",
    # share and follow
    "分享到", "扫一扫", "关注我们", "二维码", "公众号", "收藏本站", "加入收藏", "设为首页",
    # disclaimers and reprint notices ("本站", "this site", only in its boilerplate phrases: "根本站不住" holds it)
    "免责声明", "版权声明", "转载", "侵权", "未经授权", "未经许可", "关于本站", "本站所有", "本站内容", "本站资源",
    "本站信息", "本站声明", "本站部分", "本站提供", "本站收录", "本站将",
    # contact blocks
    "咨询热线", "客服", "联系电话", "地址：", "qq：", "qq:", "邮箱", "传真", "e-mail",
    # ads, shop and course promotions
    "广告服务", "广告合作", "包邮", "特价", "限时优惠", "优惠券", "促销", "抢购", "免费领", "辅导班", "试听",
    "招生简章", "立即报名", "随时报名", "报名咨询",
    # comment and account widgets
    "我要评论", "发表评论", "最新评论", "发表于", "请登录", "立即登录", "免费注册", "会员注册", "用户注册",
    "马上注册",
    # error and parked pages
    "404", "not found", "页面不存在", "不存在或已删除", "无法访问",
)  # fmt: skip
