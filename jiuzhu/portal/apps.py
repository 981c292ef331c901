from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "jiuzhu.portal"
    label = "portal"
    verbose_name = "公众服务门户"
    default_auto_field = "django.db.models.BigAutoField"
