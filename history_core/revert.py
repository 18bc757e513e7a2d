"""Reverting an object to one of its versions.

A revert never modifies history: it changes the live object, which records a new
version (``~``, or ``+`` when a deleted object is restored with its original primary
key). The new version's ``history_context`` carries ``reverted_from``, the
``history_id`` of the source version. Everything happens in one transaction that
holds a row lock on the live object; on any error nothing is written.

A dry run rehearses the revert: the same checks and the same save, in a transaction
(or a savepoint of the caller's) that is always rolled back, so the database itself
judges every constraint and the dry run refuses exactly what the revert would. Its
row lock is taken with ``NOWAIT`` and lasts only the rehearsal: a dry run never waits
on a writer (it says :class:`RevertRetry` instead).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone

from .capture import equal
from .context import context
from .diff import ModelChange
from .exceptions import RelatedObjectGone, RevertConflict, RevertError, RevertRetry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevertResult:
    """What a revert did (or, with ``dry_run``, would do).

    Attributes:
        instance: the live object after the revert (unsaved with ``dry_run``).
        record: the new historical record, or ``None`` if nothing was written.
        changes: the field changes applied, sorted by field name.
        restored: whether a deleted object was brought back.
    """

    instance: models.Model
    record: Any
    changes: tuple[ModelChange, ...]
    restored: bool


MAX_REASON_LENGTH = 1000


def storable(text: str) -> bool:
    """Whether both databases can store ``text``: no NUL character (PostgreSQL's
    text holds none) and no unpaired surrogate (UTF-8 cannot encode one)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reason_problem(reason: str | None) -> str | None:
    """What makes ``reason`` unfit to record as a revert's reason, or ``None``.

    ``history_change_reason`` is a ``TextField`` (no length limit in the database),
    so only what the database cannot store would make the write fail; a reason is
    also kept to :data:`MAX_REASON_LENGTH` characters, a sentence or two.
    """
    if reason is None:
        return None
    if len(reason) > MAX_REASON_LENGTH:
        return f"The reason is longer than {MAX_REASON_LENGTH} characters."
    if not storable(reason):
        return (
            "The reason holds a character that cannot be stored (a NUL character "
            "or an unpaired surrogate)."
        )
    return None


def _field_pairs(options: Any, fields: Iterable[str] | None) -> list[tuple[str, str]]:
    """The ``(name, attname)`` pairs to restore: those of ``fields`` (default: every
    tracked field).

    Any tracked field may be named; the primary key (it names the object) and
    ``auto_now`` fields (the save sets them) are accepted and left alone.
    """
    skip = {options.pk_attname, *options.ignored_for_noop}
    pairs = [p for p in options.diff_pairs if p[1] not in skip]
    if fields is None:
        return pairs
    wanted = set(fields)
    known = {name for name, _ in options.diff_pairs}
    unknown = sorted(wanted - known)
    if unknown:
        raise RevertError(
            f"{options.label} has no tracked field named {', '.join(unknown)}; "
            f"tracked fields are {', '.join(sorted(known))}."
        )
    return [p for p in pairs if p[0] in wanted]


def _expected_id(expected_latest: Any) -> Any:
    return getattr(expected_latest, "history_id", expected_latest)


def revert(
    record: Any,
    *,
    user: Any = None,
    reason: str | None = None,
    expected_latest: Any = None,
    fields: Iterable[str] | None = None,
    dry_run: bool = False,
) -> RevertResult:
    """Restore the object of ``record`` to the state ``record`` holds.

    Args:
        record: the historical record to go back to.
        user: recorded as the version's ``history_user``.
        reason: recorded as ``history_change_reason`` (at most
            :data:`MAX_REASON_LENGTH` characters).
        expected_latest: the latest version (record or ``history_id``) the caller
            saw; if the object has a newer one, :class:`RevertConflict` is raised.
        fields: revert only these fields (default: every tracked field).
        dry_run: rehearse the revert and roll it back: the same answer, or the
            same error, as the revert would give now; nothing is kept. Receivers of
            ``pre_save``/``post_save`` and history_core's signals run as for a
            revert; their database writes roll back with it and their
            ``transaction.on_commit`` callbacks never run.

    Raises:
        RevertConflict: the object changed after ``expected_latest``.
        RevertRetry: a deadlock (already retried once), a lock or statement
            timeout, or a serialization failure, or (dry run) the row is locked
            by a writer: nothing was written; retry.
        RelatedObjectGone: a foreign key would point at a deleted object.
        RevertError: the revert cannot be applied (unknown field, unstorable
            reason, a constraint).
    """
    problem = reason_problem(reason)
    if problem is not None:
        raise RevertError(problem)
    kwargs = {
        "user": user,
        "reason": reason,
        "expected_latest": expected_latest,
        "fields": fields,
        "dry_run": dry_run,
    }
    try:
        return _revert_once(record, **kwargs)
    except RevertRetry as error:
        if _sqlstate(error.__cause__) != DEADLOCK:
            raise
        logger.info("revert of %s met a deadlock; retrying once", record)
        return _revert_once(record, **kwargs)


DEADLOCK = "40P01"
_TRANSIENT = {
    DEADLOCK,
    "40001",  # serialization_failure
    "55P03",  # lock_not_available (lock_timeout, NOWAIT)
    "57014",  # query_canceled (statement_timeout)
}


def _sqlstate(error: Any) -> str | None:
    cause = getattr(error, "__cause__", None) or error
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def _is_transient(error: Exception) -> bool:
    if _sqlstate(error) in _TRANSIENT:
        return True
    return "database is locked" in str(error)  # SQLite's busy timeout


def _revert_once(
    record: Any,
    *,
    user: Any,
    reason: str | None,
    expected_latest: Any,
    fields: Iterable[str] | None,
    dry_run: bool,
) -> RevertResult:
    options = record._history_options
    model = options.model
    using = record._state.db or "default"
    pairs = _field_pairs(options, fields)
    restoring = False
    try:
        with transaction.atomic(using=using):
            # A dry run may lock the row only if no writer holds it: it never waits.
            rows = model._base_manager.db_manager(using).select_for_update(
                nowait=dry_run
            )
            live = rows.filter(pk=record.object_id).first()
            latest = record._siblings().order_by("-history_date", "-history_id").first()
            _check_expected(options, record, latest, expected_latest)
            restored = restoring = live is None
            target = record.instance if restored else live
            current = (
                (latest.__dict__ if latest is not None else {})
                if restored
                else live.__dict__
            )
            changes = _apply(options, pairs, record.__dict__, current, target)
            if not changes and not restored:
                return RevertResult(target, None, changes, restored)
            _check_relations(options, pairs, target, using)
            meta = {"reverted_from": record.history_id}
            with context(user=user, reason=reason, **meta):
                _save(options, target, restored, using)
            if dry_run:  # the database accepted it: undo, keep the answer
                transaction.set_rollback(True, using=using)
                return RevertResult(target, None, changes, restored)
            new_record = (
                record._siblings().order_by("-history_date", "-history_id").first()
            )
            return RevertResult(target, new_record, changes, restored)
    except IntegrityError as error:
        if restoring and _recreated(model, record, using):
            raise RevertConflict(
                f"{options.label} {record.object_id} was re-created while it was "
                "being restored; reload its history and retry."
            ) from error
        _raise_revert_error(options, record, error)
    except DatabaseError as error:
        if _is_transient(error):
            raise RevertRetry(
                f"Reverting {options.label} {record.object_id} met a concurrent "
                "change (a deadlock, a lock timeout, or a writer holding the row "
                "during a dry run); nothing was written, try again."
            ) from error
        _raise_revert_error(options, record, error)


def _check_expected(
    options: Any, record: Any, latest: Any, expected_latest: Any
) -> None:
    """Raise :class:`RevertConflict` unless ``latest`` is the version expected."""
    expected = _expected_id(expected_latest)
    if expected is not None and (
        latest is None or str(latest.history_id) != str(expected)
    ):
        raise RevertConflict(
            f"{options.label} {record.object_id} has version "
            f"{getattr(latest, 'history_id', None)}, newer than the expected "
            f"{expected}; reload its history and retry."
        )


def _recreated(model: Any, record: Any, using: str) -> bool:
    """Whether a restore lost a race: the object exists again (made by another)."""
    try:
        broken = transaction.get_rollback(using)
    except transaction.TransactionManagementError:  # not in a transaction
        broken = False
    if broken:  # inside the caller's broken transaction: unknown
        return False
    return bool(
        model._base_manager.db_manager(using).filter(pk=record.object_id).exists()
    )


def _raise_revert_error(options: Any, record: Any, error: Exception) -> NoReturn:
    # The database's own text may show other rows' values: log it, don't show it.
    logger.info("revert of %s %s failed: %s", options.label, record.object_id, error)
    integrity = isinstance(error, IntegrityError)
    kind = "a uniqueness, check or relation" if integrity else "a"
    raise RevertError(
        f"Reverting {options.label} {record.object_id} to version {record.history_id} "
        f"violates {kind} constraint of the database; nothing was written."
    ) from error


def _check_relations(
    options: Any, pairs: list[tuple[str, str]], target: models.Model, using: str
) -> None:
    """Refuse a revert whose foreign keys point at rows that no longer exist.

    Checked here, in the revert's own savepoint, because PostgreSQL defers
    foreign key checks to the commit of the caller's outermost transaction (and a
    dry run, rolled back, never gets there).
    """
    fields = {f.attname: f for f in options.fields}
    for name, attname in pairs:
        field: Any = fields[attname]
        value = getattr(target, attname)
        if not field.is_relation or value is None or not field.db_constraint:
            continue
        related = field.related_model._base_manager.db_manager(using)
        if not related.filter(**{field.target_field.attname: value}).exists():
            raise RelatedObjectGone(
                options.label,
                getattr(target, "pk", None),
                name,
                field.related_model._meta.label,
                value,
            )


def _save(options: Any, target: models.Model, restored: bool, using: str) -> None:
    """Save the reverted object; a restored one keeps its creation dates."""
    if not restored:
        target.save(using=using)
        return
    if target._meta.parents:  # a multi-table child: Django saves its parents' rows
        target.save(force_insert=True, using=using)
        return
    now = timezone.now()
    for field in target._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            setattr(target, field.attname, now)
    # raw: fields' pre_save hooks (auto_now_add) leave the restored values alone.
    target.save_base(using=using, force_insert=True, raw=True)


def _apply(
    options: Any,
    pairs: list[tuple[str, str]],
    source: dict[str, Any],
    current: dict[str, Any],
    target: models.Model,
) -> tuple[ModelChange, ...]:
    """Set the selected fields of ``target`` from ``source``; return what changed."""
    fields = {f.attname: f for f in options.fields}
    changes = []
    for name, attname in pairs:
        new, old = source.get(attname), current.get(attname)
        if not equal(fields[attname], old, new):
            changes.append(ModelChange(name, old, new))
        setattr(target, attname, new)
    return tuple(changes)
