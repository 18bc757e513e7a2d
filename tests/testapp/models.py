"""Models used only by the tests: edge cases of tracking."""

import uuid
from contextvars import ContextVar
from typing import Any, ClassVar

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


# -- Equivalence twins: one tracked, one plain; same fields, same manager. ------------


class PartQuerySet(models.QuerySet):
    """A custom queryset, as in Django's docs ("Calling custom QuerySet methods
    from the manager")."""

    def cheap(self) -> "PartQuerySet":
        return self.filter(price__lt=10)


class PartManager(models.Manager):
    """A manager whose ``get_queryset()`` builds the queryset itself."""

    def get_queryset(self) -> PartQuerySet:
        return PartQuerySet(self.model, using=self._db)

    def cheap(self) -> PartQuerySet:
        return self.get_queryset().cheap()


class PartBase(models.Model):
    name = models.CharField(max_length=50, unique=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = PartManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Part(PartBase):
    """Tracked twin of :class:`PlainPart`."""

    history = HistoricalRecords()


class PlainPart(PartBase):
    """Untracked twin of :class:`Part`."""


# -- Field kinds the historical copy must get right. ---------------------------------


class Node(models.Model):
    """A UUID primary key and a foreign key to itself."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=50)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="kids"
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.label


class Ticket(models.Model):
    """A foreign key to a model declared further down, on a non-pk field."""

    title = models.CharField(max_length=50)
    queue = models.ForeignKey(
        "Queue", to_field="code", null=True, on_delete=models.SET_NULL
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.title


class Queue(models.Model):
    code = models.CharField(max_length=10, unique=True)

    def __str__(self) -> str:
        return self.code


class Measure(models.Model):
    """A stored generated column."""

    width = models.IntegerField(default=1)
    height = models.IntegerField(default=1)
    area = models.GeneratedField(
        expression=models.F("width") * models.F("height"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    colour = models.CharField(max_length=10, default="blue")

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


# -- A multi-tenant style model: overrides narrow Django's own UPDATE. --------------

current_tenant: ContextVar[str] = ContextVar("current_tenant", default="a")


class TenantNote(models.Model):
    """Overrides ``save_base``, ``_do_insert`` and ``_do_update``, as multi-tenant
    packages do; ``_do_update`` only touches the current tenant's rows."""

    tenant = models.CharField(max_length=10)
    text = models.CharField(max_length=50)

    history = HistoricalRecords()

    calls: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.text

    def save_base(self, *args: Any, **kwargs: Any) -> None:
        TenantNote.calls.append("save_base")
        super().save_base(*args, **kwargs)

    def _do_insert(self, *args: Any, **kwargs: Any) -> Any:
        TenantNote.calls.append("_do_insert")
        return super()._do_insert(*args, **kwargs)  # type: ignore[misc]

    def _do_update(self, base_qs: Any, *args: Any, **kwargs: Any) -> Any:
        TenantNote.calls.append("_do_update")
        narrowed = base_qs.filter(tenant=current_tenant.get())
        return super()._do_update(narrowed, *args, **kwargs)
