"""Parameter values stored in the database: standard changes (调标) and confirmations of shipped values made
by policy admins. Together with the YAML packs they form the ParameterStore the engine reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiuzhu.core.scoping import AreaScopedQuerySet


class ParameterChange(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change", _("调标")
        CONFIRM = "confirm", _("确认")

    key = models.CharField(_("参数"), max_length=100, db_index=True)
    area_code = models.CharField(_("适用区划"), max_length=12, db_index=True)  # natural length; "" = national
    effective_from = models.DateField(_("生效日期"))
    value = models.CharField(_("值"), max_length=64)
    source = models.CharField(_("文件及文号"), max_length=200)
    article = models.CharField(_("条款"), max_length=100, blank=True, default="")
    confidence = models.CharField(_("可信度"), max_length=1, choices=[("H", "H"), ("M", "M"), ("L", "L")])
    note = models.CharField(_("说明"), max_length=500, blank=True, default="")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices, default=Kind.CHANGE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    preview = models.JSONField(default=dict, blank=True)  # the simulation the admin saw before saving
    # One token per previewed form: a second submission of the same confirmation (double click, back button,
    # resent request) hits the unique constraint instead of saving the change twice.
    token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    objects = AreaScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("参数调整")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["key", "area_code", "effective_from"])]

    @property
    def scope_name(self) -> str:
        from jiuzhu.policy import divisions

        return divisions.name(self.area_code)

    @property
    def display(self) -> str:
        """The value as a caseworker reads it (``700.00 元/人·月``)."""
        from .store import as_value

        try:
            return as_value(self).display
        except (KeyError, ValueError):  # a key no rule declares any more
            return self.value
