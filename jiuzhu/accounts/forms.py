from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .passwords import MAX_LENGTH


class LoginForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={
        "autocomplete": "username", "autofocus": True, "class": "form-control", "autocapitalize": "none"}))
    password = forms.CharField(label=_("密码"), max_length=MAX_LENGTH, strip=False, widget=forms.PasswordInput(attrs={
        "autocomplete": "current-password", "class": "form-control"}))


class TotpForm(forms.Form):
    code = forms.CharField(label=_("动态口令"), max_length=8, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "autofocus": True,
        "class": "form-control"}))


class TotpEnrollForm(TotpForm):
    password = forms.CharField(label=_("当前密码"), max_length=MAX_LENGTH, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                 "class": "form-control"}))


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("当前密码"), max_length=MAX_LENGTH, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password", "class": "form-control", "autofocus": True}))
    new_password = forms.CharField(label=_("新密码"), max_length=MAX_LENGTH, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password", "class": "form-control"}))
    new_password2 = forms.CharField(label=_("再次输入新密码"), max_length=MAX_LENGTH, strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                                                      "class": "form-control"}))

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return data


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={
        "class": "form-control", "autocapitalize": "none"}))
    full_name = forms.CharField(label=_("姓名"), max_length=64, required=False, widget=forms.TextInput(attrs={
        "class": "form-control"}))
    role = forms.ChoiceField(label=_("角色"), widget=forms.Select(attrs={"class": "form-select"}))
    area_code = forms.CharField(label=_("辖区代码"), max_length=12, widget=forms.TextInput(attrs={
        "class": "form-control", "inputmode": "numeric"}))

    def __init__(self, *args, role_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices  # type: ignore[attr-defined]
