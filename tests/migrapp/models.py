"""Models of one step of a tracked app's life, chosen by ``MIGRAPP_STATE``.

Steps (each schema migration is followed by a data migration writing the models):

* 2: ``Gizmo`` (``size``), ``Gadget`` and ``Doohickey`` tracked; ``LongTable``
  (table names PostgreSQL cuts to 63 bytes) and ``Elsewhere`` (a table in another
  schema, PostgreSQL only) tracked.
* 4: ``Gizmo.size`` renamed ``dimension`` (RenameField).
* 6: ``Gizmo`` renamed ``Widget`` (RenameModel).
* 8: ``Widget``'s table renamed (AlterModelTable).
* 10: ``Gadget`` no longer tracked (``HistoricalRecords()`` removed).
* 12 (default): ``Doohickey`` deleted.
"""

from __future__ import annotations

import os

from django.db import models

from history_core import HistoricalRecords

STATE = int(os.environ.get("MIGRAPP_STATE", "12"))
LONG_TABLE = "migrapp_a_table_whose_name_is_longer_than_the_63_bytes_postgresql_keeps"
LONG_HISTORY = (
    "migrapp_the_history_of_a_table_whose_name_is_longer_than_postgresql_keeps"
)
ELSEWHERE = 'migrapp_schema"."elsewhere'

if STATE < 6:

    class Gizmo(models.Model):
        name = models.CharField(max_length=50)
        if STATE < 4:
            size = models.IntegerField(default=0)
        else:
            dimension = models.IntegerField(default=0)
        history = HistoricalRecords()

else:

    class Widget(models.Model):
        name = models.CharField(max_length=50)
        dimension = models.IntegerField(default=0)
        history = HistoricalRecords()

        if STATE >= 8:

            class Meta:
                db_table = "migrapp_widgets"


class Gadget(models.Model):
    name = models.CharField(max_length=50)
    if STATE < 10:
        history = HistoricalRecords()


if STATE < 12:

    class Doohickey(models.Model):
        name = models.CharField(max_length=50)
        history = HistoricalRecords()


class LongTable(models.Model):
    name = models.CharField(max_length=50)
    history = HistoricalRecords(table_name=LONG_HISTORY)

    class Meta:
        db_table = LONG_TABLE


class Elsewhere(models.Model):
    """A table in a schema of its own, made by migration 0001 on PostgreSQL only."""

    name = models.CharField(max_length=50)
    history = HistoricalRecords()

    class Meta:
        managed = False
        db_table = ELSEWHERE
