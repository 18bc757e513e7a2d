"""``SHItem``: the benchmark fields, tracked by django-simple-history."""

from simple_history.models import HistoricalRecords

from bench.benchapp.models import ItemFields


class SHItem(ItemFields):
    """Tracked by django-simple-history."""

    history = HistoricalRecords()
