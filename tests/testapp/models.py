"""Models used only by the tests: edge cases of tracking."""

import uuid

from django.contrib.auth import get_user_model
from django.db import models

from history_core import HistoricalRecords, register


class Document(models.Model):
    """A tracked model with an excluded field, an auto_now field and a unique field."""

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField(blank=True)
    secret = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.IntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["secret"])

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A tracked model deleted by cascade when its document is deleted."""

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="comments"
    )
    text = models.CharField(max_length=200)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.text


class Sku(models.Model):
    """A tracked model with a non-integer primary key."""

    code = models.CharField(max_length=20, primary_key=True)
    token = models.UUIDField(default=uuid.uuid4)
    stock = models.IntegerField(default=0)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.code


class Reminder(models.Model):
    """A tracked model whose foreign keys Django nulls or resets on delete."""

    document = models.ForeignKey(
        Document, null=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    sku = models.ForeignKey(
        Sku, null=True, default=None, on_delete=models.SET_DEFAULT, related_name="+"
    )
    note = models.CharField(max_length=100)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.note


class Memo(Document):
    """An untracked multi-table child of a tracked model."""

    urgent = models.BooleanField(default=False)


class Untracked(models.Model):
    """A plain model, for checking that untracked models are left alone."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


register(get_user_model(), app="testapp", excluded_fields=["password", "last_login"])


class Notice(Untracked):
    """A tracked multi-table child (of an untracked parent)."""

    pinned = models.BooleanField(default=False)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name
