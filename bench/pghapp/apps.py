"""App configuration of the django-pghistory comparator."""

from django.apps import AppConfig


class PGHAppConfig(AppConfig):
    name = "bench.pghapp"
    label = "pghapp"
    default_auto_field = "django.db.models.BigAutoField"
