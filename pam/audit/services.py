"""Recording audit events and verifying their hash chain.

Every service that changes a business record calls record_create / record_update /
record_delete (or record for logins and exports) in the same transaction as the
change. Nothing here commits: the caller's single commit makes the change and its
event durable together, or neither.
"""

from __future__ import annotations

import enum
import hashlib
import json
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import inspect, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pam.audit.models import GENESIS_HASH, AuditChainHead, Audited, AuditEvent, utcnow
from pam.core.periods import as_utc
from pam.extensions import db

HEAD_ID = 1
REDACTED = "[redacted]"
HELD_HEAD = "pam_audit_head"  # session.info: the head as this transaction last left it


# --- snapshots and differences ----------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-safe, canonical form of a column value (exact: money stays a string)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return sorted((plain(item) for item in value), key=str)
    return str(value)


def snapshot(obj: Audited) -> dict[str, Any]:
    """The audited field values of a record, as plain JSON-safe values."""
    values: dict[str, Any] = {}
    for attr in inspect(type(obj)).column_attrs:
        if attr.key in obj.__audit_exclude__:
            continue
        values[attr.key] = plain(getattr(obj, attr.key))
    values.update({key: plain(value) for key, value in obj.audit_extra().items()})
    return values


def diff(obj: Audited, before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict]:
    """Field-level before/after for the fields that changed, with secrets redacted."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in obj.__audit_redact__:
            old, new = (REDACTED if old is not None else None), REDACTED
        changes[key] = {"before": old, "after": new}
    return changes


# --- recording ---------------------------------------------------------------------


def _utc_text(moment: datetime) -> str:
    """One text form for a timestamp on every database (SQLite drops the zone)."""
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _origin() -> dict[str, str | None]:
    """Where the action came from: the web request, or the command line."""
    if has_request_context():
        return {
            "address": request.remote_addr,
            "request_id": getattr(g, "request_id", None),
            "channel": getattr(g, "audit_channel", "web"),
        }
    return {"address": None, "request_id": None, "channel": "cli"}


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an event's content and its predecessor's hash."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def hashed_fields(event: AuditEvent) -> dict[str, Any]:
    """The fields of an event covered by its hash."""
    return {
        "sequence": event.sequence,
        "occurred_at": _utc_text(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "address": event.address,
        "request_id": event.request_id,
        "channel": event.channel,
        "action": event.action,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "record_label": event.record_label,
        "summary": event.summary,
        "changes": event.changes,
        "prev_hash": event.prev_hash,
    }


def _take_chain_head() -> tuple[int, str] | None:
    """A no-op UPDATE of the head row that returns it: the UPDATE takes the row (or
    database) write lock, so a second writer waits here until the first commits and then
    reads the head the first one left. None when there is no head row yet."""
    row = db.session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(last_sequence=AuditChainHead.last_sequence)
        .returning(AuditChainHead.last_sequence, AuditChainHead.last_hash)
    ).one_or_none()
    return None if row is None else (row.last_sequence, row.last_hash)


def _lock_chain_head() -> tuple[int, str]:
    """Lock the chain head for this transaction and return (last sequence, last hash).

    Taking the lock and reading the head are one statement on purpose: that is what keeps
    the chain from forking when several processes write at once.
    """
    head = _take_chain_head()
    if head is None:
        # The migration creates the head; a database built another way gets it here.
        # Two first writers may race to create it, so the loser's insert does nothing
        # and it then waits on the winner's row like any other writer.
        upsert = (
            postgresql_insert
            if db.session.get_bind().dialect.name == "postgresql"
            else sqlite_insert
        )
        db.session.execute(
            upsert(AuditChainHead)
            .values(id=HEAD_ID, last_sequence=0, last_hash=GENESIS_HASH)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        head = _take_chain_head()
    return head


def _innermost_transaction():
    session = db.session()  # the scoped session's own Session: the proxy lacks these
    return session.get_nested_transaction() or session.get_transaction()


def _chain_position() -> tuple[int, str]:
    """(last sequence, last hash) the next event follows on from.

    The first event of a transaction locks and reads the head. The transaction then holds
    the lock until it ends, so its later events follow on from the one before, which it
    wrote itself: an import that records six events reads the head once, not six times.
    A savepoint is a transaction of its own here: once it ends, released or rolled back
    (which also puts the head back as it was), the next event reads the head again.
    """
    held = db.session.info.get(HELD_HEAD)
    if held is not None:
        held_by, last_sequence, last_hash = held
        transaction = held_by()  # None once it has gone
        current = _innermost_transaction()
        if transaction is not None and transaction is current and current.is_active:
            return last_sequence, last_hash
    return _lock_chain_head()


def record(
    action: str,
    *,
    actor: Any = None,
    target: Audited | None = None,
    record_type: str | None = None,
    record_id: Any = None,
    record_label: str | None = None,
    summary: str = "",
    changes: dict | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the trail, in the current transaction (flushes, never commits)."""
    db.session.flush()  # gives new records their ids, and takes the write lock early
    if target is not None:
        record_type = target.__tablename__
        record_id = inspect(target).identity[0] if inspect(target).identity else None
        record_label = record_label or target.audit_label()
    last_sequence, last_hash = _chain_position()
    event = AuditEvent(
        sequence=last_sequence + 1,
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or (actor.audit_label() if actor is not None else "system"),
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        record_label=record_label,
        summary=summary,
        changes=changes,
        prev_hash=last_hash,
        **_origin(),
    )
    event.hash = event_hash(hashed_fields(event))
    db.session.add(event)
    db.session.flush()
    db.session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(last_sequence=event.sequence, last_hash=event.hash)
    )
    # Held weakly: a transaction that has ended is neither kept alive nor mistaken for
    # the next one.
    db.session.info[HELD_HEAD] = (weakref.ref(_innermost_transaction()), event.sequence,
                                  event.hash)  # fmt: skip
    if record_type is not None and record_id is not None:
        db.session.info.setdefault("pam_audited", set()).add((record_type, str(record_id)))
    return event


def record_create(actor: Any, obj: Audited, summary: str = "") -> AuditEvent:
    """Record the creation of a record with all its audited values as 'after'."""
    db.session.flush()
    after = snapshot(obj)
    changes = diff(obj, {}, after)
    return record("create", actor=actor, target=obj, summary=summary, changes=changes)


def record_update(
    actor: Any, obj: Audited, before: dict[str, Any], summary: str = "", action: str = "update"
) -> AuditEvent | None:
    """Record the fields of `obj` that changed since `before` (a snapshot); None if nothing did."""
    db.session.flush()
    changes = diff(obj, before, snapshot(obj))
    if not changes:
        return None
    return record(action, actor=actor, target=obj, summary=summary, changes=changes)


def record_delete(actor: Any, obj: Audited, summary: str = "") -> AuditEvent:
    """Record a deletion with the record's last values as 'before'. Call before deleting."""
    changes = diff(obj, snapshot(obj), {})
    return record("delete", actor=actor, target=obj, summary=summary, changes=changes)


# --- verifying ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the whole chain."""

    ok: bool
    checked: int
    broken_sequence: int | None = None
    broken_event_id: int | None = None
    problem: str = ""


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk every event in order and check links, hashes, gaps and the chain head."""
    expected_prev, expected_sequence, checked = GENESIS_HASH, 1, 0
    events = db.session.execute(
        select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=batch_size)
    ).scalars()
    for event in events:
        problem = None
        if event.sequence != expected_sequence:
            problem = f"event {expected_sequence} is missing (next found is {event.sequence})"
        elif event.prev_hash != expected_prev:
            problem = f"event {event.sequence} does not link to the event before it"
        elif event_hash(hashed_fields(event)) != event.hash:
            problem = f"event {event.sequence} has been altered since it was recorded"
        if problem:
            return ChainReport(False, checked, event.sequence, event.id, problem)
        expected_prev, expected_sequence = event.hash, event.sequence + 1
        checked += 1
    head = db.session.get(AuditChainHead, HEAD_ID)
    last_sequence = expected_sequence - 1
    if head is not None and (head.last_sequence, head.last_hash) != (last_sequence, expected_prev):
        return ChainReport(
            False,
            checked,
            last_sequence + 1,
            None,
            f"events after {last_sequence} have been deleted "
            f"(the chain head records {head.last_sequence})",
        )
    return ChainReport(True, checked)
