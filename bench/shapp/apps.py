"""App configuration of the django-simple-history comparator."""

from django.apps import AppConfig


class SHAppConfig(AppConfig):
    name = "bench.shapp"
    label = "shapp"
    default_auto_field = "django.db.models.BigAutoField"
