from __future__ import annotations

from collections.abc import Collection

from django import template

from jiuzhu.accounts.roles import VIEW_NAMES
from jiuzhu.core.masking import mask_name

register = template.Library()


@register.filter
def shown_name(name: str, perms: Collection[str]) -> str:
    """Full name for roles that handle cases, ``张*三`` for everyone else (AC-FIELD minimisation)."""
    return name if VIEW_NAMES in perms else mask_name(name)


@register.filter
def action_label(action: str) -> str:
    return {"create": "新建", "update": "修改", "delete": "删除", "leave": "迁出", "import": "导入"}.get(action, action)


@register.filter
def field_label(key: str) -> str:
    return FIELD_LABELS.get(key, key)


FIELD_LABELS = {
    "name": "姓名", "id_number_masked": "身份证号", "sex": "性别", "birth_date": "出生日期", "relation": "与户主关系",
    "phone_masked": "联系电话", "hukou_area_code": "户籍地", "residence_area_code": "居住地", "urban_rural": "城乡类别",
    "disability_category": "残疾类别", "disability_grade": "残疾等级", "serious_illness": "重病", "diagnosis": "诊断",
    "schooling": "在学情况", "labour_capacity": "劳动能力", "self_care": "生活自理能力", "death_date": "死亡日期",
    "address": "居住地址", "bank_name": "开户银行", "bank_account_masked": "银行账号", "status": "状态",
    "household_id": "所在户", "member_count": "在册人数", "head_name": "户主姓名", "area_id": "村(社区)",
    "area_code": "区划", "household_no": "户编号", "version": "版本", "is_synthetic": "合成数据",
}  # fmt: skip
