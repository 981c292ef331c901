from __future__ import annotations

from collections.abc import Collection

from django import template
from django.utils.translation import gettext_lazy as _

from jiuzhu.accounts.roles import VIEW_NAMES
from jiuzhu.core.masking import mask_name

register = template.Library()


@register.filter
def shown_name(name: str, perms: Collection[str]) -> str:
    """Full name for roles that handle cases, ``张*三`` for everyone else (AC-FIELD minimisation)."""
    return name if VIEW_NAMES in perms else mask_name(name)


@register.filter
def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


ACTION_LABELS = {"create": _("新建"), "update": _("修改"), "delete": _("删除"), "leave": _("迁出"), "import": _("导入")}


@register.filter
def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


FIELD_LABELS = {
    "name": _("姓名"), "id_number_masked": _("身份证号"), "sex": _("性别"), "birth_date": _("出生日期"), "relation": _("与户主关系"),
    "phone_masked": _("联系电话"), "hukou_area_code": _("户籍地"), "residence_area_code": _("居住地"), "urban_rural": _("城乡类别"),
    "disability_category": _("残疾类别"), "disability_grade": _("残疾等级"), "serious_illness": _("重病"), "diagnosis": _("诊断"),
    "schooling": _("在学情况"), "labour_capacity": _("劳动能力"), "self_care": _("生活自理能力"), "death_date": _("死亡日期"),
    "address": _("居住地址"), "bank_name": _("开户银行"), "bank_account_masked": _("银行账号"), "status": _("状态"),
    "household_id": _("所在户"), "member_count": _("在册人数"), "head_name": _("户主姓名"), "area_id": _("村(社区)"),
    "area_code": _("区划"), "household_no": _("户编号"), "version": _("版本"), "is_synthetic": _("合成数据"),
}  # fmt: skip
