"""One canonical masking pattern for every channel (SECURITY PUB-MASK, AC-FIELD).

ID ``6109**********1234`` (first 4, last 4), phone ``138****5678``, bank account last 4, names ``张*``,
``张*三``, ``欧阳**``, ``买买提·**``.
"""

from __future__ import annotations

COMPOUND_SURNAMES = frozenset(
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 宗政 濮阳 公冶 太叔 申屠 "
    "公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 司寇 巫马 公西 颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 "
    "拓跋 夹谷 轩辕 令狐 段干 百里 呼延 东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 "
    "西门 公祖 第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 褚师".split()
)


def mask_id(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_account(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def mask_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        return ""
    if "·" in name or "•" in name:
        sep = "·" if "·" in name else "•"
        first, *rest = name.split(sep)
        return sep.join([first] + ["*" * len(part) for part in rest])
    chars = list(name)  # code points, so CJK Ext-B characters count once
    if len(chars) == 1:
        return chars[0]
    if len(chars) == 2:
        return chars[0] + "*"
    if "".join(chars[:2]) in COMPOUND_SURNAMES:
        return "".join(chars[:2]) + "*" * (len(chars) - 2)
    if len(chars) == 3:
        return chars[0] + "*" + chars[2]
    return chars[0] + "*" * (len(chars) - 1)
