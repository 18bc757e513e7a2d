"""A second admin site for the admin tests: test-app models, no code per model.

``Node`` (UUID key, a foreign key to itself) has an admin of its own that
``enable_history_admin`` swaps; ``Ticket`` (a foreign key to a non-key field) has
none, so it gets ``HistoryAdmin``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import path

from history_core.admin import ChangeLogAdmin, HistoryAdmin, enable_history_admin
from history_core.models import ChangeLog
from tests.testapp.models import Node, Ticket

site = admin.AdminSite(name="history_test_admin")


class NodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["label", "parent"]


site.register(Node, NodeAdmin)
enable_history_admin(Node, site=site)
enable_history_admin(Ticket, site=site)
site.register(ChangeLog, ChangeLogAdmin)


class OwnNodesAdmin(HistoryAdmin):
    """A per-owner admin: each user sees the nodes whose label starts with their name."""

    def get_queryset(self, request: Any) -> Any:
        return (
            super()
            .get_queryset(request)
            .filter(label__startswith=request.user.username)
        )


owner_site = admin.AdminSite(name="history_owner_admin")
owner_site.register(Node, OwnNodesAdmin)
owner_site.register(ChangeLog, ChangeLogAdmin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("test-admin/", site.urls),
    path("owner-admin/", owner_site.urls),
]
