"""The audit trail: complete, hash-chained, tamper-evident, and never forked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select, text, update

from pam.audit import services as audit
from pam.audit.guard import UnauditedChangeError
from pam.audit.models import AuditChainHead, AuditEvent
from pam.auth.models import Role
from pam.extensions import db
from pam.providers.models import Organisation, OrganisationKind
from tests.conftest import FACTORY


def test_verify_is_ok_after_demo_load_and_edits(demo, runner, client_as):
    officer = client_as(Role.OFFICER)
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.kind != OrganisationKind.OPCC)
    )
    officer.post(f"/organisations/{organisation.id}/contacts/new", data={"name": "New Contact"})
    result = runner.invoke(args=["pam", "audit", "verify"])
    assert result.exit_code == 0, result.output
    count = db.session.scalar(select(func.count(AuditEvent.id)))
    assert f"OK: the audit chain of {count} events is intact." in result.output


def _events(n: int) -> list[AuditEvent]:
    for number in range(n):
        organisation = Organisation(name=f"Org {number}", kind=OrganisationKind.CIC, address="")
        db.session.add(organisation)
        audit.record_create(FACTORY, organisation)
    db.session.commit()
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all()


def _record_organisation(name: str) -> Organisation:
    """A new organisation and its creation event, in the current transaction."""
    organisation = Organisation(name=name, kind=OrganisationKind.CIC, address="")
    db.session.add(organisation)
    audit.record_create(FACTORY, organisation)
    return organisation


def test_altering_an_event_by_hand_is_found_and_named(runner):
    events = _events(5)
    target = events[2]
    # A direct SQL edit, as someone with database access might make.
    db.session.execute(
        text("UPDATE audit_events SET summary = 'nothing to see' WHERE id = :id"), {"id": target.id}
    )
    db.session.commit()
    result = runner.invoke(args=["pam", "audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at sequence {target.sequence} (event id {target.id})" in result.output
    assert "altered" in result.output


def test_changing_a_recorded_value_and_rehashing_one_event_breaks_the_next_link():
    events = _events(4)
    forged = events[1]
    forged.changes = {"name": {"before": None, "after": "Forged"}}
    forged.hash = audit.event_hash(audit.hashed_fields(forged))
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == forged.id)
        .values(changes=forged.changes, hash=forged.hash)
    )
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and report.broken_sequence == events[2].sequence
    assert "does not link" in report.problem


def test_deleting_an_event_in_the_middle_or_at_the_end_is_found():
    events = _events(4)
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and "event 2 is missing" in report.problem

    db.session.execute(text("DELETE FROM audit_events"))
    db.session.commit()
    report = audit.verify_chain()
    assert not report.ok and "deleted" in report.problem


def test_a_business_change_without_an_event_cannot_be_committed(make_organisation):
    organisation = make_organisation("Quiet Org")
    organisation.name = "Renamed Quietly"
    with pytest.raises(UnauditedChangeError, match="organisations"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Organisation, organisation.id).name == "Quiet Org"


def test_update_event_records_field_level_before_and_after(make_organisation):
    organisation = make_organisation("Before Name")
    before = audit.snapshot(organisation)
    organisation.name = "After Name"
    event = audit.record_update(FACTORY, organisation, before)
    db.session.commit()
    assert event.changes == {"name": {"before": "Before Name", "after": "After Name"}}
    assert event.record_type == "organisations" and event.record_id == str(organisation.id)


def test_password_hashes_never_appear_in_the_trail(make_user):
    user = make_user()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "users")).all()
    assert events and all(user.password_hash not in str(event.changes) for event in events)
    assert events[0].changes["password_hash"]["after"] == "[redacted]"


def _head_statements(work) -> list[str]:
    """The statements `work` sends that touch the chain head."""
    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "audit_chain_heads" in statement:
            sent.append(statement.split()[0])

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def test_a_transaction_locks_the_head_once_however_many_events_it_records():
    def six_events() -> None:
        for number in range(6):
            organisation = Organisation(name=f"Six {number}", kind=OrganisationKind.CIC,
                                        address="")  # fmt: skip
            db.session.add(organisation)
            audit.record_create(FACTORY, organisation)
        db.session.commit()

    _events(1)  # the head row exists from here on, as the migration makes it
    sent = _head_statements(six_events)
    # one UPDATE that locks and reads it, then one that moves it on per event
    assert sent == ["UPDATE"] * 7
    assert audit.verify_chain().ok
    assert db.session.get(AuditChainHead, 1).last_sequence == 7


def test_events_after_a_savepoint_rolls_back_follow_on_from_the_head_it_put_back():
    _record_organisation("Kept")
    savepoint = db.session.begin_nested()
    _record_organisation("Dropped")
    audit.record("note", actor=FACTORY, summary="inside the savepoint too")
    savepoint.rollback()
    savepoint = db.session.begin_nested()
    _record_organisation("Released")
    savepoint.commit()
    _record_organisation("After")
    db.session.commit()

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)).all()
    assert [(e.sequence, e.record_label) for e in events] == [
        (1, "Kept"), (2, "Released"), (3, "After")
    ]  # fmt: skip
    assert audit.verify_chain().ok
    assert db.session.get(AuditChainHead, 1).last_sequence == 3


def test_an_event_released_inside_a_savepoint_that_is_given_up_leaves_no_gap():
    _events(1)
    _record_organisation("First")
    savepoint = db.session.begin_nested()
    inner = db.session.begin_nested()  # a savepoint inside a savepoint
    _record_organisation("Inner")
    inner.commit()  # released into the outer savepoint...
    savepoint.rollback()  # ...which is given up, head and all
    _record_organisation("Second")
    db.session.commit()
    labels = db.session.scalars(select(AuditEvent.record_label).order_by(AuditEvent.sequence))
    assert list(labels)[-2:] == ["First", "Second"]
    assert audit.verify_chain().ok
    assert db.session.get(AuditChainHead, 1).last_sequence == 3


def test_a_rolled_back_transaction_leaves_nothing_the_next_one_follows():
    _record_organisation("Never")
    db.session.rollback()
    _events(2)
    assert audit.verify_chain().ok
    assert db.session.get(AuditChainHead, 1).last_sequence == 2


def test_concurrent_writers_do_not_fork_the_chain(app):
    """Several threads (each its own connection, as several server processes would be)
    append at once; the chain stays one line."""
    writers, per_writer = 4, 5  # each commit records two events
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def write(worker: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for number in range(per_writer):
                    organisation = Organisation(
                        name=f"W{worker}-{number}", kind=OrganisationKind.CIC, address=""
                    )
                    db.session.add(organisation)
                    audit.record_create(FACTORY, organisation)
                    audit.record("note", actor=FACTORY, summary=f"W{worker}-{number} again")
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below, with the worker that failed
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked == writers * per_writer * 2
    head = db.session.get(AuditChainHead, 1)
    assert head.last_sequence == writers * per_writer * 2


def test_audit_pages_filter_and_show_a_record_timeline(client_as, make_organisation):
    organisation = make_organisation("Timeline Org")
    officer = client_as(Role.OFFICER)
    officer.post(
        f"/organisations/{organisation.id}/edit",
        data={"name": "Timeline Org Renamed", "kind": "cic", "version": organisation.version},
    )
    listing = officer.get("/audit?record_type=organisations&action=update").data.decode()
    assert "Timeline Org Renamed" in listing
    timeline = officer.get(f"/audit/records/organisations/{organisation.id}").data.decode()
    assert (
        "moj-timeline" in timeline
        and "Timeline Org" in timeline
        and "Timeline Org Renamed" in timeline
    )
    bad_date = officer.get("/audit?from=31/12/2025").data.decode()
    assert "Enter the &#39;from&#39; date as YYYY-MM-DD" in bad_date
    assert officer.get("/audit/records/organisations/999999").status_code == 404


def test_the_portal_itself_refuses_unaudited_changes_not_only_the_tests():
    """The guard registers itself on import. This suite imports it above, so check in a
    fresh interpreter that building the app alone is enough to switch it on."""
    from tests.conftest import in_fresh_interpreter

    shown = in_fresh_interpreter("import sys; print('pam.audit.guard' in sys.modules)").stdout
    assert shown.strip().splitlines()[-1] == "True"
