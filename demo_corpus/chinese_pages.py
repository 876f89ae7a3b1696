"""Chinese pages a cleaning stage should drop (boilerplate, spam, short pages), Chinese personal data, and the
lines a republishing site adds: the Chinese counterparts of `junk_pages` and `personal_data`.

Why hand-written lines here, when good pages are built from real sentences only: page furniture (menus, ICP
licence footers, share bars, login boxes), spam and the one-line notes of republishers are formulaic in a real
crawl too; they are written in the phrases Chinese sites actually print, the way `junk_pages` writes English
ones. Each generator draws from a seeded `random.Random`, so a page is a pure function of its seed.

Personal data follows the formats the clean stage's Chinese PII rules know (stages/clean/pii.py): mainland mobile
numbers (1[3-9] + 9 digits, bare, 3-4-4, or after +86), 18-character resident ID numbers with a real region,
birth date and ISO 7064 MOD 11-2 check character, and UnionPay bank card numbers (62..., 16 or 19 digits,
Luhn-valid). The sentences around them avoid the clean stage's boilerplate phrases (联系电话, 客服, 邮箱...), so the
line carrying the number stays and the number must be redacted, not dropped with its line. E-mail addresses
follow a full-width colon: the clean stage's e-mail rule does not take an address that touches a Han character
(`发送至name@qq.com`: its lookbehind counts Han as a word character), a gap reported, not planted.
"""

from __future__ import annotations

import datetime
import random

from demo_corpus.personal_data import luhn_check_digit

MENU_ITEMS = (
    "首页", "网站首页", "新闻中心", "新闻动态", "公司新闻", "行业资讯", "产品中心", "产品展示", "解决方案", "服务中心", "技术支持", "下载中心", "人才招聘",
    "在线留言", "企业文化", "荣誉资质", "合作伙伴", "客户案例", "视频中心", "图片中心", "专题", "政务公开", "办事指南", "通知公告", "热点专题", "社区", "论坛",
    "博客", "商城", "购物车", "登录", "注册", "会员中心", "帮助中心", "English", "手机版", "微博", "微信", "更多", "搜索", "频道", "排行榜",
    "直播",
)  # fmt: skip
COPYRIGHT_LINES = (
    "版权所有 © {start}-{year} {site} 保留所有权利",
    "Copyright © {year} {site} All Rights Reserved",
    "{site} 版权所有 {province}ICP备{filing}号",
    "{province}ICP备{filing}号-{suffix} {province}公网安备{police}号",
    "本站所有内容未经许可不得转载",
    "建议使用1024×768以上分辨率浏览本站",
)
SHARE_LINES = (
    "分享到：",
    "微信",
    "微博",
    "QQ空间",
    "朋友圈",
    "扫一扫",
    "收藏",
    "点赞",
    "打印本页",
    "关闭窗口",
    "返回顶部",
)
NEXT_LINES = (
    "上一篇：{title}",
    "下一篇：{title}",
    "相关阅读",
    "热门推荐",
    "阅读全文",
    "点击查看更多",
    "查看原文",
)
LOGIN_LINES = (
    "用户名",
    "密码",
    "验证码",
    "记住我",
    "忘记密码？",
    "立即登录",
    "免费注册",
    "第三方账号登录",
    "还没有账号？",
)
NOT_FOUND_LINES = (
    "404",
    "抱歉，您访问的页面不存在",
    "页面不存在或已删除",
    "返回首页",
    "{seconds}秒后自动跳转",
)
FOLLOW_LINES = ("关注我们", "扫码关注公众号", "官方微信", "官方微博", "下载客户端", "加入收藏", "设为首页")
BYLINE_LINES = (
    "来源：{site}",
    "责任编辑：{name}",
    "发布时间：{year}-{month:02d}-{day:02d}",
    "浏览次数：{views}",
)
PROVINCES = ("京", "沪", "粤", "浙", "苏", "川", "鄂", "湘", "鲁", "闽")
SITE_STEMS = (
    "华夏",
    "东方",
    "新时代",
    "百姓",
    "阳光",
    "天天",
    "中原",
    "江南",
    "蓝海",
    "星辰",
    "前沿",
    "同城",
    "乐享",
    "云端",
)
SITE_KINDS = ("网", "在线", "资讯网", "科技有限公司", "信息港", "门户网", "商贸有限公司", "生活网")
NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊", "徐丽", "孙强")
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆", "苏州", "长沙")

SPAM_GOODS = (
    "手机壳",
    "减肥茶",
    "名牌包包",
    "高仿手表",
    "代写论文",
    "刷单兼职",
    "网贷",
    "外挂",
    "游戏金币",
    "微商货源",
    "祛斑霜",
    "增高鞋垫",
)
SPAM_ADJECTIVES = ("正品", "特价", "低价", "超值", "包邮", "爆款", "限量", "官方", "免费", "最新")
SPAM_SHOUTS = (
    "点击进入！！！",
    "马上抢购！！！",
    "错过再等一年！！！",
    "全场一折起！！！",
    "加微信领取！！！",
    "免费试用！！！",
)
SPAM_LINES = (
    "{adj}{goods}，{adj}{goods}批发，{goods}{goods}{goods}",
    "买{goods}就来这里，{adj}{goods}全网最低价",
    "{goods}哪里买？{adj}{goods}厂家直销，货到付款",
    "最好的{goods}最便宜的{goods}最{adj}的{goods}",
    "想赚钱吗？{goods}日赚五百，在家就能做，点击这里",
    "{goods}，{goods}价格，{goods}图片，{goods}怎么样，{goods}排行榜",
    "{adj}{goods}限时抢购，数量有限，先到先得",
)
GAMBLING_LINES = (
    "{year}年六合彩开奖结果查询，今晚特马资料免费看",
    "香港六合彩心水论坛，一肖中特，精准资料每期更新",
    "注册就送彩金，百家乐在线玩，24小时提款秒到账",
    "时时彩计划网，稳赚不赔的投注技巧大公开",
)

SHORT_PAGES = (
    "网站建设中，敬请期待！",
    "页面正在维护，请稍后再试。",
    "暂无内容",
    "该帖子已被删除",
    "加载中……",
    "沙发！",
    "谢谢楼主分享！",
    "此商品已下架",
    "您没有权限访问该页面。",
    "正在跳转，请稍候……",
    "顶一个",
    "好文，收藏了。",
)

SYNDICATION_LINES = (
    "本文最早刊登于{site}，经作者同意在此发表。",
    "本文原载于{year}年{month}月{day}日的{site}，略有删改。",
    "编者按：文中数据已根据{site}{month}月的最新统计作了更新。",
    "更多相关报道，请留意{site}每周{weekday}的专栏。",
    "本文图片由{site}的读者提供，在此一并致谢。",
    "文章观点仅代表作者本人，与{site}立场无关。",
)
WEEKDAYS = "一二三四五六日"

PII_KINDS = ("phone", "id_number", "credit_card", "email")
PII_SENTENCES: dict[str, tuple[str, ...]] = {
    "phone": (
        "有意者可拨打{value}与王先生面谈。",
        "他的手机号是{value}，平时很少关机。",
        "如果车辆出现故障，可以直接打我手机{value}。",
        "报名截止前请把名单发到{value}这个号码上。",
    ),
    "id_number": (
        "身份证号码为{value}的当事人已被列入失信名单。",
        "办理手续时需出示身份证，号码{value}已登记在册。",
        "捡到一张身份证，号码是{value}，请失主尽快认领。",
    ),
    "credit_card": (
        "房租请转入工商银行卡{value}，户名李红。",
        "我把钱打到了他给的卡号{value}上，之后就再也联系不上他了。",
        "退款会原路退回尾号相同的银行卡{value}，请注意查收。",
    ),
    "email": (
        "简历请发送至：{value}，我们会在三个工作日内回复。",
        "投稿请寄：{value}，来稿一经采用即付稿酬。",
    ),
}
ID_REGIONS = (
    "110101",
    "110105",
    "310104",
    "310115",
    "440103",
    "440305",
    "330106",
    "510104",
    "420106",
    "320102",
)
ID_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARACTERS = "10X98765432"
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com")


def _site(rng: random.Random) -> str:
    return rng.choice(SITE_STEMS) + rng.choice(SITE_KINDS)


def _format(rng: random.Random, line: str, site: str) -> str:
    year = rng.randint(2012, 2024)
    return line.format(
        site=site,
        start=rng.randint(2003, 2011),
        year=year,
        month=rng.randint(1, 12),
        day=rng.randint(1, 28),
        province=rng.choice(PROVINCES),
        filing=rng.randint(10_000_000, 99_999_999),
        police=rng.randint(10_000_000_000_000, 99_999_999_999_999),
        suffix=rng.randint(1, 9),
        seconds=rng.randint(3, 10),
        title=rng.choice(MENU_ITEMS) + rng.choice(("公告", "动态", "通知", "简介")),
        name=rng.choice(NAMES),
        views=rng.randint(10, 99999),
    )


def chinese_boilerplate_page(rng: random.Random) -> str:
    """Navigation, share and follow bars, login or 404 boxes, bylines and an ICP footer: no content at all."""
    site = _site(rng)
    blocks: list[list[str]] = [[site], rng.sample(MENU_ITEMS, rng.randint(6, 14))]
    optional = [SHARE_LINES, NEXT_LINES, LOGIN_LINES, NOT_FOUND_LINES, FOLLOW_LINES, BYLINE_LINES]
    for lines in rng.sample(optional, rng.randint(3, 5)):
        blocks.append(
            [_format(rng, line, site) for line in rng.sample(lines, rng.randint(2, min(5, len(lines))))]
        )
    blocks.append([_format(rng, line, site) for line in rng.sample(COPYRIGHT_LINES, rng.randint(2, 3))])
    return "\n\n".join("\n".join(block) for block in blocks)


def chinese_spam_page(rng: random.Random) -> str:
    """Keyword stuffing and shouting, one favourite line again and again; some pages are gambling spam."""
    goods = rng.choice(SPAM_GOODS)
    lines = [f"{rng.choice(SPAM_ADJECTIVES)}{goods}{rng.choice(SPAM_SHOUTS)}"]
    templates = SPAM_LINES + (GAMBLING_LINES if rng.random() < 0.3 else ())
    favourite = rng.choice(templates)
    for _ in range(rng.randint(8, 30)):
        template = favourite if rng.random() < 0.45 else rng.choice(templates)
        lines.append(
            template.format(adj=rng.choice(SPAM_ADJECTIVES), goods=goods, year=rng.randint(2015, 2024))
        )
        if rng.random() < 0.2:
            lines.append(rng.choice(SPAM_SHOUTS))
    lines.append(goods * rng.randint(5, 15))
    return "\n".join(lines)


def chinese_short_page(rng: random.Random, snippet: str) -> str:
    """A stub, an error, a one-line comment, or the first few characters of an article."""
    choice = rng.random()
    if choice < 0.06:
        return rng.choice(["", " ", "\n"])
    if choice < 0.5:
        return snippet[: rng.randint(8, 30)]
    page = rng.choice(SHORT_PAGES)
    return f"{_site(rng)}\n{page}" if rng.random() < 0.5 else page


def chinese_syndication_note(rng: random.Random) -> str:
    """Lines a republishing site adds under a story: plain sentences that no line filter removes."""
    site = f"{rng.choice(CITIES)}{rng.choice(('日报', '晚报', '商报', '晨报', '电视台'))}"
    return "\n".join(
        line.format(
            site=site,
            year=rng.randint(2015, 2024),
            month=rng.randint(1, 12),
            day=rng.randint(1, 28),
            weekday=rng.choice(WEEKDAYS),
        )
        for line in rng.sample(SYNDICATION_LINES, rng.randint(1, 3))
    )


def mobile_number(rng: random.Random) -> str:
    """A mainland mobile number, in one of the layouts people write."""
    digits = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
    return rng.choice(
        [
            digits,
            digits,
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
            f"+86 {digits}",
            f"+86-{digits}",
        ]
    )


def id_check_character(first17: str) -> str:
    """GB 11643-1999's check character (ISO 7064 MOD 11-2) of the first 17 digits of a resident ID number."""
    total = sum(weight * int(digit) for weight, digit in zip(ID_CHECK_WEIGHTS, first17, strict=True))
    return ID_CHECK_CHARACTERS[total % 11]


def resident_id_number(rng: random.Random) -> str:
    """A well-formed 18-character resident ID number: real region code, real birth date, sequence, check."""
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20_000))
    first17 = f"{rng.choice(ID_REGIONS)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_character(first17)


def bank_card_number(rng: random.Random) -> str:
    """A UnionPay card number (62..., 16 or 19 digits, Luhn-valid), bare or in groups of four."""
    length = rng.choice([16, 16, 19])
    body = "62" + "".join(str(rng.randint(0, 9)) for _ in range(length - 3))
    number = body + luhn_check_digit(body)
    if rng.random() < 0.5:
        return number
    return " ".join(number[start : start + 4] for start in range(0, length, 4))


def _email(rng: random.Random) -> str:
    local = rng.choice(["", "zhang", "li", "wang", "chen", "liu"]) + str(rng.randint(10_000, 99_999_999))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


VALUE_MAKERS = {
    "phone": mobile_number,
    "id_number": resident_id_number,
    "credit_card": bank_card_number,
    "email": _email,
}


def insert_chinese_personal_data(
    rng: random.Random, paragraphs: list[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Append one to three sentences carrying personal data to body paragraphs; return them and [(kind, value)]."""
    paragraphs = list(paragraphs)
    found: list[tuple[str, str]] = []
    for kind in rng.sample(PII_KINDS, rng.choice([1, 1, 2, 2, 3])):
        value = VALUE_MAKERS[kind](rng)
        target = rng.randrange(1, len(paragraphs)) if len(paragraphs) > 1 else 0
        paragraphs[target] += rng.choice(PII_SENTENCES[kind]).format(value=value)
        found.append((kind, value))
    return paragraphs, found
