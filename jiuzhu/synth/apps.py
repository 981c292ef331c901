from django.apps import AppConfig


class Config(AppConfig):
    name = "jiuzhu.synth"
    label = "synth"
    default_auto_field = "django.db.models.BigAutoField"
