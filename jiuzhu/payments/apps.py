from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "jiuzhu.payments"
    label = "payments"
    verbose_name = "按月发放"
    default_auto_field = "django.db.models.BigAutoField"
