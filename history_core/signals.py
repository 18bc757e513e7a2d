"""history_core's own signals: extension points around each recorded version.

``before_version``
    Sent before a tracked object is saved (``obj.save()``, ``create()``...), with
    ``sender`` (the model), ``instance`` and ``context``: a mutable dict with
    ``user``, ``reason`` and ``meta`` that the version will carry. Receivers may
    change it (enrich) or raise to refuse the change (veto): the exception
    propagates like any ``pre_save`` receiver's, and nothing is written.

``after_version``
    Sent after such a save, with ``sender``, ``instance`` and
    ``versions``: the historical records the write produced (empty for a save
    that changed nothing). Only looked up when a receiver is connected.

Deletes and bulk operations (``update()``, ``bulk_create``, ...) record versions
too but send neither: a receiver of Django's delete signals would switch the
model's deletes off Django's fast path, so history_core connects none (set a
delete's reason with ``history_core.context(reason=...)``).
"""

from django.dispatch import Signal

# Caching, as Django's model signals do: every tracked save asks whether each has
# receivers for its model, and without the cache that walks every receiver.
before_version = Signal(use_caching=True)
after_version = Signal(use_caching=True)
