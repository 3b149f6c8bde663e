"""The safety net: no business record may change without an audit event.

Listeners on SQLAlchemy's Session note every Audited row inserted, updated or deleted
in a transaction; record() notes every row it writes an event for; at commit, any
changed row without an event makes the commit fail with UnauditedChangeError.
They are registered once, at import, not per app (../shared/STYLE.md).
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ONETOMANY

from pam.audit.models import Audited


class UnauditedChangeError(RuntimeError):
    """A business record changed in a transaction that recorded no audit event for it."""


def _key(obj: Audited) -> tuple[str, str] | None:
    identity = inspect(obj).identity
    if not identity:
        return None
    return obj.__tablename__, str(identity[0])


@event.listens_for(Session, "after_flush")
def _note_changed_records(session: Session, _flush_context) -> None:
    changed = session.info.setdefault("pam_changed", set())
    for obj in list(session.new) + list(session.deleted):
        if isinstance(obj, Audited) and (key := _key(obj)):
            changed.add(key)
    for obj in session.dirty:
        if isinstance(obj, Audited) and _own_data_changed(session, obj) and (key := _key(obj)):
            changed.add(key)


def _own_data_changed(session: Session, obj: Audited) -> bool:
    """Its columns, its many-to-one links or its many-to-many links changed.

    A one-to-many collection or a one-to-one child (an organisation's contacts, a
    contract's framework) changing is a change to the child rows, which carry their own
    events, not to the parent.
    """
    state = inspect(obj)
    # Columns kept out of the trail (timestamps, versions, a TOTP time step) change as a
    # side effect of audited work and need no event of their own.
    ignored = obj.__audit_exclude__
    if any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.column_attrs
        if attr.key not in ignored
    ):
        return True
    return any(
        state.attrs[rel.key].history.has_changes()
        for rel in state.mapper.relationships
        if rel.direction is not ONETOMANY
    )


@event.listens_for(Session, "before_commit")
def _refuse_unaudited_changes(session: Session) -> None:
    session.flush()
    missing = session.info.get("pam_changed", set()) - session.info.get("pam_audited", set())
    if missing:
        names = ", ".join(f"{table} {ident}" for table, ident in sorted(missing))
        raise UnauditedChangeError(f"changed without an audit event: {names}")


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("pam_changed", None)
    session.info.pop("pam_audited", None)
