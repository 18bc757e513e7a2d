"""The same four fields as ``catalog.Product``, with and without history_core."""

from django.db import models

from history_core import HistoricalRecords


class ItemFields(models.Model):
    """The fields every benchmark model has."""

    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    qty = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class PlainItem(ItemFields):
    """The untracked baseline: plain Django."""


class TrackedItem(ItemFields):
    """Tracked by history_core."""

    history = HistoricalRecords()


class PlainGroup(models.Model):
    """W8: a parent whose deletion cascades to its members (untracked)."""

    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class PlainMember(models.Model):
    group = models.ForeignKey(PlainGroup, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    qty = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class TrackedGroup(models.Model):
    """W8: the same, tracked by history_core."""

    name = models.CharField(max_length=100)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class TrackedMember(models.Model):
    group = models.ForeignKey(TrackedGroup, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)
    qty = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.name

    history = HistoricalRecords()
