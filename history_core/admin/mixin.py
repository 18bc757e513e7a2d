"""``HistoryAdminMixin``: the real history in a model's admin, and how to add it.

The mixin replaces the object's "History" page and adds compare, revert and
"recover deleted" pages under the model's admin URLs; the change form shows who
made the latest change and why, the change list links to the deleted objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from ..queries import NEWEST_FIRST
from ..registry import get_options
from . import display, views
from .permissions import has_model_perm

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object


def extend_template(response: HttpResponse, template: str) -> HttpResponse:
    """Render ``response`` with ``template``, which extends the one it had.

    ``template`` starts with ``{% extends history_core_base %}``: the admin's own
    template for this page (a project's override of it included) stays the base.
    """
    if not isinstance(response, TemplateResponse) or response.is_rendered:
        return response
    names = response.template_name
    base: Any = names
    if isinstance(names, str):
        base = select_template([names])
    elif isinstance(names, (list, tuple)):
        base = select_template(names)
    response.context_data = {**(response.context_data or {}), "history_core_base": base}
    response.template_name = template
    return response


class HistoryAdminMixin(_Base):
    """Add to a ``ModelAdmin`` of a tracked model: ``class A(HistoryAdminMixin,
    admin.ModelAdmin)``.

    Permissions, as in the rest of history_core: reading history needs the model's
    ``view`` permission, reverting ``view`` and ``change``, restoring a deleted
    object ``add`` too. Override ``has_history_permission`` and
    ``has_revert_permission`` to decide otherwise.
    """

    history_per_page = 100

    def __init__(self, model: type[models.Model], admin_site: Any) -> None:
        get_options(model)  # raises NotRegistered, naming the fix, for untracked ones
        super().__init__(model, admin_site)

    # -- Permissions ------------------------------------------------------------------

    def has_history_permission(self, request: HttpRequest) -> bool:
        """Whether the user may read this model's history (its ``view`` permission)."""
        return has_model_perm(request, "view", self.model)

    def has_revert_permission(self, request: HttpRequest, restoring: bool) -> bool:
        """Whether the user may revert (``view`` + ``change``) or restore (``+ add``)."""
        needed = ("view", "change", "add") if restoring else ("view", "change")
        return all(has_model_perm(request, action, self.model) for action in needed)

    # -- URLs and views ---------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        own = [
            path(
                "recover/",
                wrap(self.recover_view),
                name="{}_{}_history_recover".format(*info),
            ),
            path(
                "<path:object_id>/history/compare/",
                wrap(self.history_compare_view),
                name="{}_{}_history_compare".format(*info),
            ),
            path(
                "<path:object_id>/history/<str:history_id>/revert/",
                wrap(self.history_revert_view),
                name="{}_{}_history_revert".format(*info),
            ),
        ]
        return own + super().get_urls()  # ours first: the last of Django's catches all

    def history_view(
        self,
        request: HttpRequest,
        object_id: str,
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Every version of the object, newest first (replaces Django's page)."""
        return views.history_view(self, request, object_id, extra_context)

    def history_compare_view(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse:
        """Two versions side by side, field by field."""
        return views.compare_view(self, request, object_id)

    def history_revert_view(
        self, request: HttpRequest, object_id: str, history_id: str
    ) -> HttpResponse:
        """Preview (GET) and confirm (POST) a revert or a restore."""
        return views.revert_view(self, request, object_id, history_id)

    def recover_view(self, request: HttpRequest) -> HttpResponse:
        """The model's deleted objects, each restorable."""
        return views.recover_view(self, request)

    # -- The admin's own pages --------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The change form, with the latest change's user and reason above it."""
        extra = {**(extra_context or {}), **self._latest_change(request, object_id)}
        response = super().change_view(request, object_id, form_url, extra)
        return extend_template(response, "admin/history_core/change_form.html")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The change list, with a link to the deleted objects."""
        extra = dict(extra_context or {})
        if self.has_history_permission(request):
            extra["history_recover_url"] = views.admin_url(self, "history_recover")
        response = super().changelist_view(request, extra)
        return extend_template(response, "admin/history_core/change_list.html")

    def _latest_change(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        if not self.has_history_permission(request):
            return {}
        try:
            pk = views.object_pk(self.model, object_id)
        except views.Http404:
            return {}  # Django's own view answers for a malformed id
        latest = views.versions_of(self, pk).order_by(*NEWEST_FIRST).first()
        if latest is None:
            return {}
        return {
            "history_latest": latest,
            "history_latest_user": display.user_label(latest),
            "history_latest_kind": display.kind_label(latest),
            "history_page_url": views.history_page_url(self.model, pk),
        }


class HistoryAdmin(HistoryAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A ``ModelAdmin`` with the history pages: ``admin.site.register(M, HistoryAdmin)``."""


def enable_history_admin(
    model: type[models.Model], site: admin.AdminSite | None = None
) -> Any:
    """Give the admin of a model you don't own the history pages.

    Replaces the ``ModelAdmin`` registered for ``model`` in ``site`` (default:
    ``admin.site``) by a subclass that adds :class:`HistoryAdminMixin`; registers
    :class:`HistoryAdmin` when none is. Call it from an app listed after the one
    that registers the model's admin. Returns the new ``ModelAdmin`` instance.
    """
    site = site or admin.site
    if not site.is_registered(model):
        site.register(model, HistoryAdmin)
        return site.get_model_admin(model)
    current = site.get_model_admin(model)
    if isinstance(current, HistoryAdminMixin):
        return current
    base = type(current)
    subclass = type(
        f"History{base.__name__}",
        (HistoryAdminMixin, base),
        {"__module__": base.__module__, "__doc__": base.__doc__},
    )
    site.unregister(model)
    site.register(model, subclass)
    return site.get_model_admin(model)
