"""The admin pages of one tracked model: history, compare, revert, recover deleted.

Each view checks the model permission it needs before it reads anything, so a
refusal is the same whether or not the object or version exists. Malformed ids
and cursors are a 404, like unknown ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import capfirst

from ..exceptions import RevertConflict, RevertError
from ..models import DELETED, HistoricalRecordBase
from ..pages import Page, Window, timeline
from ..queries import NEWEST_FIRST
from ..registry import get_options
from ..revert import MAX_REASON_LENGTH, reason_problem
from . import display
from .permissions import namer

if TYPE_CHECKING:
    from .mixin import HistoryAdminMixin

    ModelAdmin = HistoryAdminMixin
else:
    ModelAdmin = Any

# -- Parsing what the URL and the query string carry. -------------------------------


def object_pk(model: type[models.Model], object_id: str) -> Any:
    """The primary key named by an admin URL's (quoted) ``object_id``; 404 if invalid."""
    try:
        return model._meta.pk.to_python(unquote(object_id))  # type: ignore[union-attr]
    except (ValidationError, ValueError) as error:
        raise Http404("No such object.") from error


BIGINT_MAX = 2**63 - 1


def version_id(raw: str | None) -> int | None:
    """A ``history_id`` from the URL or query string; 404 unless a positive integer."""
    if raw is None or raw == "":
        return None
    digits = raw.isascii() and raw.isdigit()  # isdigit() alone takes "²", "٣", ...
    if not digits or len(raw) > 19 or int(raw) > BIGINT_MAX:
        raise Http404("No such version.")
    return int(raw)


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """A ``<ISO date>~<history_id>`` cursor; 404 when malformed."""
    if not raw:
        return None
    date, _, hid = raw.rpartition("~")
    when = aware_datetime(date)
    if version_id(hid) is None:
        raise Http404("Malformed page cursor.")
    return when, int(hid)


def aware_datetime(raw: str) -> datetime:
    """An ISO date and time with its offset, that UTC can hold; 404 otherwise."""
    try:
        when = datetime.fromisoformat(raw)
        if timezone.is_naive(when):
            raise ValueError(raw)
        when.astimezone(UTC)  # OverflowError for year 1 at +14:00, say
    except (ValueError, OverflowError) as error:
        raise Http404("Malformed page cursor.") from error
    return when


def cursor(record: HistoricalRecordBase) -> str:
    """The cursor naming ``record``'s place in a newest-first list."""
    return f"{record.history_date.isoformat()}~{record.history_id}"


def page_of(request: HttpRequest, versions: Any, size: int) -> Page:
    """The page of ``versions`` (newest first) the ``after``/``before`` cursors ask for."""
    before = parse_cursor(request.GET.get("before"))
    if before is not None:
        return timeline(versions, Window(last=size, before=before), default=size)
    after = parse_cursor(request.GET.get("after"))
    return timeline(versions, Window(first=size, after=after), default=size)


def page_links(request: HttpRequest, page: Page) -> dict[str, str | None]:
    """The query strings of the newer and the older page, or ``None``."""
    base = {k: str(v) for k, v in request.GET.items() if k not in ("after", "before")}
    newer = older = None
    if page.has_previous and page.items:
        newer = "?" + urlencode({**base, "before": cursor(page.items[0])})
    if page.has_next and page.items:
        older = "?" + urlencode({**base, "after": cursor(page.items[-1])})
    return {"newer_url": newer, "older_url": older}


# -- Shared lookups and context. -----------------------------------------------------


def versions_of(model_admin: ModelAdmin, pk: Any) -> Any:
    """The versions of one object, with their users, in no particular order."""
    options = get_options(model_admin.model)
    manager = options.historical_model._default_manager
    return manager.filter(**{options.pk_attname: pk}).select_related("history_user")


def admin_url(model_admin: ModelAdmin, view: str, *args: Any) -> str:
    """The URL of one of this model's admin views, e.g. ``history``."""
    opts = model_admin.model._meta
    name = f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}"
    return reverse(name, args=[quote(a) if i == 0 else a for i, a in enumerate(args)])


def history_page_url(model: type[models.Model], pk: Any) -> str | None:
    """The JavaScript history page of the object, once the project serves one."""
    try:
        return reverse("history-page", args=[model._meta.label_lower, pk])
    except NoReverseMatch:
        return None


def base_context(
    model_admin: ModelAdmin, request: HttpRequest, title: str, **extra: Any
) -> dict[str, Any]:
    """What every page needs: the admin's own context, the model and the title."""
    opts = model_admin.model._meta
    return {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "module_name": str(capfirst(opts.verbose_name_plural)),
        "has_view_permission": True,
        **extra,
    }


def render(
    model_admin: ModelAdmin,
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> TemplateResponse:
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(
        request, f"admin/history_core/{template}.html", context, status=status
    )


def object_context(
    model_admin: ModelAdmin, request: HttpRequest, pk: Any, latest: Any
) -> dict[str, Any]:
    """The object's live instance (``None`` once deleted), label and URLs."""
    live = model_admin.get_object(request, str(pk))
    if live is None and latest is None:
        raise Http404("No such object, and no history of one.")
    if live is None and model_admin.model._base_manager.filter(pk=pk).exists():
        # The row exists but this admin's get_queryset() hides it from this user
        # (a per-owner admin, say): its history is hidden too, as Django hides it.
        raise Http404("No such object.")
    label = str(live) if live is not None else f"{display.object_label(latest)}"
    return {
        "object": live,
        "object_pk": pk,
        "object_label": label,
        "deleted": live is None,
        "change_url": admin_url(model_admin, "change", pk) if live else None,
        "history_url": admin_url(model_admin, "history", pk),
        "compare_url": admin_url(model_admin, "history_compare", pk),
    }


# -- History. ------------------------------------------------------------------------


def history_view(
    model_admin: ModelAdmin,
    request: HttpRequest,
    object_id: str,
    extra_context: dict[str, Any] | None = None,
) -> HttpResponse:
    """Every version of one object, newest first, a page at a time."""
    if not model_admin.has_history_permission(request):
        raise PermissionDenied
    pk = object_pk(model_admin.model, object_id)
    versions = versions_of(model_admin, pk)
    latest = versions.order_by(*NEWEST_FIRST).first()
    page = page_of(request, versions, model_admin.history_per_page)
    about = object_context(model_admin, request, pk, latest)
    may_revert = model_admin.has_revert_permission(request, restoring=about["deleted"])
    rows = [
        _history_row(model_admin, pk, record, latest, about["deleted"], may_revert)
        for record in page.items
    ]
    if rows and not page.has_next:
        rows[-1]["compare_previous_url"] = None  # the first version: nothing before
    title = f"Change history: {about['object_label']}"
    context = base_context(
        model_admin,
        request,
        title,
        rows=rows,
        page=page,
        latest=latest,
        may_revert=may_revert,
        recover_url=admin_url(model_admin, "history_recover"),
        history_page_url=history_page_url(model_admin.model, pk),
        **about,
        **page_links(request, page),
        **(extra_context or {}),
    )
    return render(model_admin, request, "object_history", context)


def _history_row(
    model_admin: ModelAdmin,
    pk: Any,
    record: Any,
    latest: Any,
    deleted: bool,
    may_revert: bool,
) -> dict[str, Any]:
    options = get_options(model_admin.model)
    is_latest = record.history_id == latest.history_id
    compare = admin_url(model_admin, "history_compare", pk)
    offer_revert = may_revert and (deleted or not is_latest)
    return {
        "record": record,
        "kind": display.kind_label(record),
        "user": display.user_label(record),
        "fields": display.changed_field_names(options, record),
        "context": display.context_summary(record),
        "is_latest": is_latest,
        "compare_previous_url": f"{compare}?{urlencode({'to': record.history_id})}",
        "revert_url": (
            admin_url(model_admin, "history_revert", pk, record.history_id)
            if offer_revert
            else None
        ),
    }


# -- Compare. ------------------------------------------------------------------------


def compare_view(
    model_admin: ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    """Two versions field by field (``?from=<id>&to=<id>``; by default the latest
    version against the one before it)."""
    if not model_admin.has_history_permission(request):
        raise PermissionDenied
    pk = object_pk(model_admin.model, object_id)
    versions = versions_of(model_admin, pk)
    old, new = _pair(versions, request)
    if old is not None and (old.history_date, old.history_id) > (
        new.history_date,
        new.history_id,
    ):
        old, new = new, old
    options = get_options(model_admin.model)
    may_name = namer(model_admin.admin_site, request)
    changed, unchanged = display.compare_rows(options, old, new, may_name)
    about = object_context(model_admin, request, pk, new)
    may_revert = model_admin.has_revert_permission(request, restoring=about["deleted"])
    versions_shown = [
        _version_summary(model_admin, pk, record, may_revert)
        for record in (old, new)
        if record is not None
    ]
    title = f"Compare versions: {about['object_label']}"
    context = base_context(
        model_admin,
        request,
        title,
        old=old,
        new=new,
        versions_shown=versions_shown,
        changed_rows=changed,
        unchanged_rows=unchanged,
        **about,
    )
    return render(model_admin, request, "compare", context)


def _pair(versions: Any, request: HttpRequest) -> tuple[Any, Any]:
    """The two versions asked for; 404 unless both are versions of this object."""
    to_id = version_id(request.GET.get("to"))
    from_id = version_id(request.GET.get("from"))
    wanted = [i for i in (from_id, to_id) if i is not None]
    found = {r.history_id: r for r in versions.filter(history_id__in=wanted)}
    if to_id is None:
        new = versions.order_by(*NEWEST_FIRST).first()
    else:
        new = found.get(to_id)
    if new is None:
        raise Http404("No such version.")
    if from_id is None:
        return new.prev_record, new
    if from_id not in found:
        raise Http404("No such version.")
    return found[from_id], new


def _version_summary(
    model_admin: ModelAdmin, pk: Any, record: Any, may_revert: bool
) -> dict[str, Any]:
    return {
        "record": record,
        "kind": display.kind_label(record),
        "user": display.user_label(record),
        "context": display.context_summary(record),
        "revert_url": (
            admin_url(model_admin, "history_revert", pk, record.history_id)
            if may_revert
            else None
        ),
    }


# -- Revert and restore. -------------------------------------------------------------


def revert_view(
    model_admin: ModelAdmin, request: HttpRequest, object_id: str, history_id: str
) -> HttpResponse:
    """GET: what reverting to the version would change. POST: do it."""
    if not model_admin.has_revert_permission(request, restoring=False):
        raise PermissionDenied
    pk = object_pk(model_admin.model, object_id)
    versions = versions_of(model_admin, pk)
    record = versions.filter(history_id=version_id(history_id)).first()
    if record is None:
        raise Http404("No such version.")
    restoring = not model_admin.model._base_manager.filter(pk=pk).exists()
    if restoring and not model_admin.has_revert_permission(request, restoring=True):
        raise PermissionDenied
    if not restoring and model_admin.get_object(request, str(pk)) is None:
        raise Http404("No such object.")  # hidden by this admin's get_queryset()
    if request.method == "POST":
        return _confirm_revert(model_admin, request, versions, record)
    return _preview(model_admin, request, versions, record)


def _preview(
    model_admin: ModelAdmin,
    request: HttpRequest,
    versions: Any,
    record: Any,
    status: int = 200,
    **extra: Any,
) -> TemplateResponse:
    """The dry run's answer: what would change, or why the revert would fail."""
    # The latest version is read before the dry run: a change made after it is a
    # conflict when the revert is confirmed.
    latest = versions.order_by(*NEWEST_FIRST).first()
    options = get_options(model_admin.model)
    may_name = namer(model_admin.admin_site, request)
    try:
        result = record.revert(dry_run=True)
    except RevertError as error:  # the revert would refuse: say so, offer nothing
        result, extra["error"] = None, extra.get("error") or str(error)
    restoring = result.restored if result else latest.history_type == DELETED
    about = object_context(model_admin, request, record.object_id, latest)
    verb = "Restore" if restoring else "Revert"
    title = f"{verb} {about['object_label']} to version #{record.history_id}"
    rows: list[display.FieldRow] = []
    if result is not None and result.restored:
        rows = display.compare_rows(options, None, record, may_name)[0]
    elif result is not None:
        rows = display.preview_rows(options, result.changes, record, may_name)
    context = base_context(
        model_admin,
        request,
        title,
        record=record,
        record_summary=_version_summary(model_admin, record.object_id, record, False),
        latest=latest,
        restoring=restoring,
        verb=verb,
        rows=rows,
        refused=result is None,
        nothing_to_do=result is not None and not result.changes and not restoring,
        reason=request.POST.get("reason", "").replace("\x00", ""),
        max_reason_length=MAX_REASON_LENGTH,
        **about,
        **extra,
    )
    return render(model_admin, request, "revert", context, status=status)


def _confirm_revert(
    model_admin: ModelAdmin, request: HttpRequest, versions: Any, record: Any
) -> HttpResponse:
    expected = request.POST.get("expected_latest", "")
    if not (expected.isascii() and expected.isdigit()):
        return HttpResponseBadRequest("expected_latest must be a version id.")
    reason = request.POST.get("reason", "").strip() or None
    problem = reason_problem(reason)
    if problem is not None:  # the form's own error: the preview stays offered
        return _preview(
            model_admin, request, versions, record, 400, reason_error=problem
        )
    try:
        result = record.revert(
            user=request.user, reason=reason, expected_latest=int(expected)
        )
    except RevertConflict:
        newer = versions.order_by(*NEWEST_FIRST).first()
        return _preview(model_admin, request, versions, record, 409, conflict=newer)
    except RevertError as error:
        return _preview(model_admin, request, versions, record, 400, error=str(error))
    history = admin_url(model_admin, "history", record.object_id)
    if result.record is None:
        messages.info(request, "Nothing to revert: the object already matches.")
        return HttpResponseRedirect(history)
    names = ", ".join(c.field for c in result.changes) or "no field"
    done = "Restored" if result.restored else "Reverted"
    message = (
        f"{done} {result.instance} to version #{record.history_id} "
        f"(changed: {names}); recorded as version #{result.record.history_id}."
    )
    model_admin.log_change(request, result.instance, message)
    messages.success(request, message)
    return HttpResponseRedirect(history)


# -- Recover deleted. ----------------------------------------------------------------


def deleted_versions(model: type[models.Model]) -> Any:
    """The deletion versions of objects that are still deleted (no newer version)."""
    options = get_options(model)
    manager = options.historical_model._default_manager
    pk = options.pk_attname
    newer = manager.filter(**{pk: models.OuterRef(pk)}).filter(
        models.Q(history_date__gt=models.OuterRef("history_date"))
        | models.Q(
            history_date=models.OuterRef("history_date"),
            history_id__gt=models.OuterRef("history_id"),
        )
    )
    return manager.filter(history_type=DELETED).exclude(models.Exists(newer))


def recover_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The model's deleted objects, newest deletion first, each restorable."""
    if not model_admin.has_history_permission(request):
        raise PermissionDenied
    deleted = deleted_versions(model_admin.model).select_related("history_user")
    page = page_of(request, deleted, model_admin.history_per_page)
    may_restore = model_admin.has_revert_permission(request, restoring=True)
    rows = []
    for record in page.items:
        pk = record.object_id
        rows.append(
            {
                "record": record,
                "label": display.object_label(record),
                "user": display.user_label(record),
                "history_url": admin_url(model_admin, "history", pk),
                "restore_url": (
                    admin_url(model_admin, "history_revert", pk, record.history_id)
                    if may_restore
                    else None
                ),
            }
        )
    opts = model_admin.model._meta
    title = f"Recover deleted {opts.verbose_name_plural}"
    context = base_context(
        model_admin, request, title, rows=rows, **page_links(request, page)
    )
    return render(model_admin, request, "recover", context)
