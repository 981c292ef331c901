"""Name material for the synthetic population: surnames by frequency, given-name characters by sex and birth
cohort, a few compound surnames and minority names written with the middle dot (·).

Surname shares are rounded from the published 2020 household-registration statistics (公安部户政管理研究中心
《二〇二〇年全国姓名报告》 and earlier lists); only their order of magnitude matters here."""

from __future__ import annotations

# (surname, share in per mille of the population)
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 71.2), ("李", 70.0), ("张", 67.4), ("刘", 51.0), ("陈", 46.1), ("杨", 32.2), ("黄", 24.5),
    ("赵", 21.9), ("吴", 18.3), ("周", 17.2), ("徐", 13.1), ("孙", 12.9), ("马", 12.0), ("朱", 11.9),
    ("胡", 11.5), ("郭", 11.3), ("何", 10.7), ("林", 10.0), ("高", 10.0), ("罗", 9.5), ("郑", 9.1),
    ("梁", 8.6), ("谢", 7.6), ("宋", 7.0), ("唐", 6.8), ("许", 6.6), ("韩", 6.4), ("邓", 6.2), ("冯", 6.2),
    ("曹", 5.9), ("彭", 5.8), ("曾", 5.6), ("肖", 5.5), ("田", 5.3), ("董", 5.2), ("潘", 5.0), ("袁", 4.9),
    ("蔡", 4.8), ("蒋", 4.7), ("余", 4.6), ("于", 4.5), ("杜", 4.4), ("叶", 4.3), ("程", 4.2), ("魏", 4.1),
    ("苏", 4.0), ("吕", 3.9), ("丁", 3.8), ("任", 3.7), ("卢", 3.6), ("姚", 3.5), ("沈", 3.4), ("钟", 3.3),
    ("姜", 3.2), ("崔", 3.1), ("谭", 3.0), ("陆", 2.9), ("范", 2.8), ("汪", 2.8), ("廖", 2.7), ("石", 2.7),
    ("金", 2.6), ("韦", 2.6), ("贾", 2.5), ("夏", 2.5), ("付", 2.4), ("方", 2.4), ("邹", 2.3), ("熊", 2.3),
    ("白", 2.2), ("孟", 2.2), ("秦", 2.1), ("邱", 2.1), ("侯", 2.0), ("江", 2.0), ("尹", 1.9), ("薛", 1.9),
    ("闫", 1.8), ("段", 1.8), ("雷", 1.7), ("龙", 1.7), ("黎", 1.6), ("史", 1.6), ("陶", 1.5), ("贺", 1.5),
    ("毛", 1.5), ("郝", 1.4), ("顾", 1.4), ("龚", 1.4), ("邵", 1.3), ("万", 1.3), ("覃", 1.2), ("武", 1.2),
    ("钱", 1.2), ("戴", 1.1), ("严", 1.1), ("莫", 1.1), ("孔", 1.0), ("向", 1.0), ("常", 1.0), ("汤", 1.0),
    ("康", 1.0), ("易", 0.9), ("乔", 0.9), ("赖", 0.9), ("文", 0.9), ("储", 0.6), ("柯", 0.5), ("鲁", 0.5),
    ("牛", 0.5), ("穆", 0.3), ("寇", 0.3), ("屈", 0.3), ("艾", 0.3), ("冉", 0.3), ("巩", 0.2),
)  # fmt: skip

# A small share of people carry a two-character surname (all listed in core.masking.COMPOUND_SURNAMES).
COMPOUND_SURNAMES: tuple[str, ...] = ("欧阳", "司马", "上官", "诸葛", "皇甫", "令狐", "东方", "尉迟", "司徒", "慕容")
COMPOUND_RATE = 0.002

# Given-name characters by birth cohort: (upper bound of birth year, male characters, female characters).
COHORTS: tuple[tuple[int, str, str], ...] = (
    (1954, "福贵富财德明春生发林山云海金宝树成顺喜旺忠良文武有根全义仁礼保国学长永庆才和平安",
     "秀英兰珍芳桂凤玉梅花翠莲淑琴素巧香云荣菊金银秋月"),
    (1974, "建国军伟强勇华平志刚红兵卫东明新民利斌涛峰辉文海林波成宏卫忠",
     "丽红艳霞燕华玲萍芳敏娟静琴英梅莉萍春荣慧"),
    (1994, "浩鹏杰磊超龙飞鑫宇俊帅博凯亮波斌晨阳刚勇涛锋健",
     "婷静敏丹雪倩娜佳琳颖璐瑶晶蕾洁燕娇慧欢"),
    (9999, "子轩浩然宇航梓睿泽一诺俊熙铭辰逸昊皓博文嘉瑞明杰",
     "梓涵欣怡雨桐可馨诗语若汐一诺思彤佳琪紫萱悦"),
)  # fmt: skip
# Share of one-character given names by cohort (the 1970s–80s were the peak).
SINGLE_CHAR_RATE = (0.18, 0.28, 0.25, 0.08)
# Girls' names with a doubled character (婷婷, 丽丽) by cohort.
DOUBLED_RATE = (0.02, 0.04, 0.08, 0.06)

# Minority households (about 0.15 %): own name · father's name, as Uyghur names are written in Chinese.
MINORITY_RATE = 0.0015
MINORITY_MALE: tuple[str, ...] = ("买买提", "艾力", "阿不都", "吐尔逊", "热合曼", "艾尔肯", "依明", "努尔", "麦麦提", "阿布来提")
MINORITY_FEMALE: tuple[str, ...] = ("古丽", "阿依古丽", "热孜宛", "帕提古丽", "迪丽努尔", "米热古丽", "阿依努尔", "再努尔")
