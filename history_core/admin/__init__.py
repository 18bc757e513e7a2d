"""The Django admin for tracked models: history, compare, revert, recover, change log.

Public API::

    from history_core.admin import HistoryAdmin, HistoryAdminMixin, enable_history_admin

    @admin.register(Product)
    class ProductAdmin(HistoryAdminMixin, admin.ModelAdmin): ...

    enable_history_admin(User)  # the admin of a model you don't own

Importing this module (the admin's autodiscovery does) registers the change log
with ``admin.site``; register :class:`ChangeLogAdmin` for ``ChangeLog`` on your own
sites.
"""

from django.contrib import admin

from ..models import ChangeLog
from .changelog import ChangeLogAdmin
from .mixin import HistoryAdmin, HistoryAdminMixin, enable_history_admin

__all__ = [
    "ChangeLogAdmin",
    "HistoryAdmin",
    "HistoryAdminMixin",
    "enable_history_admin",
]

if not admin.site.is_registered(ChangeLog):
    admin.site.register(ChangeLog, ChangeLogAdmin)
