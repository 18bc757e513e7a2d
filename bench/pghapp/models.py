"""``PGHItem``: the benchmark fields, tracked by django-pghistory's triggers."""

import pghistory

from bench.benchapp.models import ItemFields


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class PGHItem(ItemFields):
    """Tracked by django-pghistory (snapshots on insert and update)."""
