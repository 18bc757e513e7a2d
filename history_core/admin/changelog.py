"""The global change log: every tracked model's versions in one read-only admin page.

Filterable by model, user, kind and date range, searchable by reason. Pages are
keyset pages of :func:`history_core.pages.feed`: one query per model the user may
read (users come in the same query), whatever the page size, and no count of the
table, so a page of a history of millions of versions costs what a page of ten
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered as AdminNotRegistered
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from .. import compat
from ..models import HISTORY_TYPES
from ..pages import FeedKey, Window, feed
from ..registry import get_options, get_registered_models
from . import display
from .mixin import HistoryAdminMixin
from .permissions import may_read_history
from .views import aware_datetime, version_id


@dataclass(frozen=True)
class Filters:
    """What the change log's form asks for; empty values filter nothing."""

    model: str = ""
    user: str = ""
    kind: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Filters:
        """Read the filters from the query string; malformed dates are a 404."""
        get = request.GET
        kind = get.get("kind", "")
        if kind not in {"", *dict(HISTORY_TYPES)}:
            raise Http404("Unknown kind of change.")
        if "\x00" in get.get("user", "") + get.get("q", ""):
            raise Http404("No such text.")  # PostgreSQL refuses NUL in a query
        return cls(
            model=get.get("model", ""),
            user=get.get("user", "").strip(),
            kind=kind,
            since=_date(get.get("since")),
            until=_date(get.get("until")),
            q=get.get("q", "").strip(),
        )

    def apply(self, queryset: Any, user_id: int | None) -> Any:
        """Narrow one model's versions to these filters."""
        if self.user:
            queryset = queryset.filter(history_user_id=user_id)
        if self.kind:
            queryset = queryset.filter(history_type=self.kind)
        if self.since:
            queryset = queryset.filter(history_date__gte=_start_of(self.since))
        if self.until:
            end = _start_of(self.until + timedelta(days=1))
            queryset = queryset.filter(history_date__lt=end)
        if self.q:
            queryset = queryset.filter(history_change_reason__icontains=self.q)
        return queryset


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
        _start_of(day + timedelta(days=1)).astimezone(UTC)  # the filters' bounds
        _start_of(day).astimezone(UTC)
    except (ValueError, OverflowError) as error:  # 9999-12-31 has no next day
        raise Http404("Dates are YYYY-MM-DD.") from error
    return day


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def parse_feed_cursor(raw: str | None) -> FeedKey | None:
    """A ``<ISO date>~<model label>~<history_id>`` cursor; 404 when malformed."""
    if not raw:
        return None
    parts = raw.split("~")
    if len(parts) != 3:
        raise Http404("Malformed page cursor.")
    when = aware_datetime(parts[0])
    hid = version_id(parts[2])
    if hid is None:
        raise Http404("Malformed page cursor.")
    return when, parts[1], hid


class ChangeLogAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: shown to staff who may read the history of a tracked model."""

    per_page = 100

    def readable_models(self, request: HttpRequest) -> list[type[models.Model]]:
        """The tracked models whose history the user may read, by label: as the
        model's history pages on this site decide, when it has them."""
        readable = [
            model
            for model in get_registered_models()
            if may_read_history(self.admin_site, request, model)
        ]
        return sorted(readable, key=lambda m: m._meta.label)

    def _model_admin(self, model: Any) -> Any:
        """The model's ``ModelAdmin`` on this site, or ``None``."""
        try:
            return self.admin_site.get_model_admin(model)
        except AdminNotRegistered:
            return None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self.readable_models(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="{}_{}_changelist".format(*info))]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """One page of versions across the readable models, newest first."""
        readable = self.readable_models(request)
        if not readable:
            raise PermissionDenied
        filters = Filters.from_request(request)
        chosen = [m for m in readable if filters.model in ("", m._meta.label_lower)]
        after = parse_feed_cursor(request.GET.get("after"))
        querysets = self._querysets(request, chosen, filters)
        page = feed(querysets, Window(self.per_page, after))
        rows = [self._row(record) for record in page.items]
        older = None
        if page.has_next:
            last = page.items[-1]
            key = f"{last.history_date.isoformat()}~{last._history_options.label}~{last.history_id}"
            query = {k: str(v) for k, v in request.GET.items() if k != "after"}
            older = "?" + urlencode({**query, "after": key})
        context = {
            **self.admin_site.each_context(request),
            "title": "Change log",
            "subtitle": None,
            "opts": self.opts,
            "rows": rows,
            "filters": filters,
            "models": [(m._meta.label_lower, m._meta.verbose_name) for m in readable],
            "kinds": HISTORY_TYPES,
            "first_page": after is not None,
            "older_url": older,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/history_core/change_log.html", context)

    def _querysets(
        self, request: HttpRequest, chosen: list[Any], filters: Filters
    ) -> list[tuple[str, Any]]:
        user_id = None
        if filters.user:
            users = get_user_model()._default_manager
            field = get_user_model().USERNAME_FIELD
            found = users.filter(**{field: filters.user}).values_list("pk", flat=True)
            user_id = next(iter(found), None)
            if user_id is None:
                return []  # nobody by that name: nothing they did
        result = []
        for model in chosen:
            options = get_options(model)
            versions = options.historical_model._default_manager.select_related(
                "history_user"
            )
            versions = self._visible(request, model, options.pk_attname, versions)
            result.append((options.label, filters.apply(versions, user_id)))
        return result

    def _visible(self, request: HttpRequest, model: Any, pk: str, versions: Any) -> Any:
        """The versions of objects this site's admin of ``model`` shows the user.

        As on the history pages: a live row its ``get_queryset()`` hides (a
        per-owner admin, say) hides its history; deleted objects stay listed.
        """
        model_admin = self._model_admin(model)
        if model_admin is None:
            return versions
        shown = model_admin.get_queryset(request)
        if not compat.filters_rows(shown):  # every row: nothing to hide
            return versions
        live = model._base_manager.filter(pk=models.OuterRef(pk))
        return versions.filter(
            models.Exists(shown.filter(pk=models.OuterRef(pk))) | ~models.Exists(live)
        )

    def _row(self, record: Any) -> dict[str, Any]:
        options = record._history_options
        return {
            "record": record,
            "model": options.model._meta.verbose_name,
            "object": display.object_label(record),
            "kind": display.kind_label(record),
            "user": display.user_label(record),
            "fields": display.changed_field_names(options, record),
            "context": display.context_summary(record),
            "history_url": self._history_url(options.model, record.object_id),
        }

    def _history_url(self, model: Any, pk: Any) -> str | None:
        """The object's history page, when this site shows the model's history."""
        model_admin = self._model_admin(model)
        if not isinstance(model_admin, HistoryAdminMixin):
            return None
        opts = model._meta
        name = f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_history"
        try:
            return reverse(name, args=[quote(pk)])
        except NoReverseMatch:  # pragma: no cover - registered admins have the URL
            return None
