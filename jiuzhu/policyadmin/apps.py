from django.apps import AppConfig


class PolicyAdminConfig(AppConfig):
    name = "jiuzhu.policyadmin"
    label = "policyadmin"
    verbose_name = "政策参数"
