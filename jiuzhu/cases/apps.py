from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "jiuzhu.cases"
    label = "cases"
    verbose_name = "申请与审批"
    default_auto_field = "django.db.models.BigAutoField"
