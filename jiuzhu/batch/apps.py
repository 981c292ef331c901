from django.apps import AppConfig


class Config(AppConfig):
    name = "jiuzhu.batch"
    label = "batch"
    default_auto_field = "django.db.models.BigAutoField"
