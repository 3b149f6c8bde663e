"""The delivery plan's progress view and the risk register's history."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from pam.auth.models import Role
from pam.core.periods import today_in_uk
from pam.extensions import db
from pam.programmes.models import Milestone, Risk


def test_the_plan_records_dated_progress_and_flags_overdue_milestones(client_as):
    officer = client_as(Role.OFFICER)
    officer.post("/plan/objectives/new", data={"title": "Victims can find RJ easily"})
    officer.post("/plan/objectives/1/actions/new", data={"title": "Launch self-referral"})
    past = today_in_uk() - timedelta(days=10)
    bad = officer.post("/plan/actions/1/milestones/new", data={"title": "Form live", "owner": ""})
    assert "Enter the owner" in bad.text and "Enter the due date" in bad.text
    officer.post(
        "/plan/actions/1/milestones/new",
        data={
            "title": "Form live",
            "owner": "Sarah Collins",
            "due_on": [str(past.day), str(past.month), str(past.year)],
        },
    )
    board = client_as(Role.BOARD_MEMBER)
    page = board.get("/plan").text
    assert "Form live" in page and "Overdue" in page and "Record progress" not in page
    officer.post(
        "/plan/milestones/1/progress",
        data={"note": "Live in testing", "status": "in_progress", "rag": "amber"},
    )
    milestone = db.session.scalar(select(Milestone))
    assert (milestone.status.value, milestone.rag) == ("in_progress", "amber")
    assert "Live in testing" in board.get("/plan").text
    assert board.get("/plan/objectives/new").status_code == 403


def test_risks_are_scored_reviewed_and_keep_their_history(client_as):
    officer = client_as(Role.OFFICER)
    next_year = today_in_uk() + timedelta(days=90)
    when = [str(next_year.day), str(next_year.month), str(next_year.year)]
    bad = officer.post(
        "/risks/new",
        data={"title": "Referrals dry up", "subject": "RJ", "owner": "Tom", "review_on": when},
    )
    assert "Choose the likelihood" in bad.text and 'value="Referrals dry up"' in bad.text
    officer.post(
        "/risks/new",
        data={
            "title": "Referrals dry up",
            "subject": "RJ",
            "owner": "Tom",
            "likelihood": "4",
            "impact": "4",
            "review_on": when,
        },
    )
    risk = db.session.scalar(select(Risk))
    assert (risk.score, risk.level) == (16, "high")
    stale_date = officer.post(
        f"/risks/{risk.id}",
        data={
            "likelihood": "2",
            "impact": "4",
            "note": "Police champion back",
            "review_on": [str(date.today().day), str(date.today().month), str(date.today().year)],
        },
    )
    assert "Set the next review date, after today" in stale_date.text
    officer.post(
        f"/risks/{risk.id}",
        data={"likelihood": "2", "impact": "4", "note": "Police champion back", "review_on": when},
    )
    db.session.expire_all()
    risk = db.session.get(Risk, risk.id)
    assert risk.score == 8 and risk.reviews[0].note == "Police champion back"
    page = client_as(Role.BOARD_MEMBER).get(f"/risks/{risk.id}").text
    assert "Police champion back" in page and "Record review" not in page
    assert client_as(Role.BOARD_MEMBER).post(f"/risks/{risk.id}", data={}).status_code == 403


def test_panel_cases_are_anonymised_references_and_feed_the_pilot_summary(client_as, make_area):
    area = make_area("Weymouth")
    officer = client_as(Role.OFFICER)
    officer.post(
        "/pilots/new", data={"name": "Neighbourhood Justice Panels", "start_on": ["1", "4", "2025"]}
    )
    officer.post("/pilots/1/sites/new", data={"name": "Weymouth panel", "area_id": str(area.id)})
    early = officer.post("/pilots/sites/1/sessions/new", data={"held_on": ["1", "1", "2025"]})
    assert "cannot have met before the pilot began" in early.text
    officer.post(
        "/pilots/sites/1/sessions/new", data={"held_on": ["12", "5", "2025"], "volunteers": "3"}
    )
    case = {
        "referral_source": "Police",
        "offence_category": "Criminal damage and arson",
        "outcome_agreed": "Reparation to the community",
        "outcome_completed": "yes",
        "victim_satisfaction": "4",
    }
    named = officer.post("/pilots/sessions/1", data={**case, "reference": "John Smith"})
    assert "never a name" in named.text
    officer.post("/pilots/sessions/1", data={**case, "reference": "njp-wey-2025-001"})
    officer.post(
        "/pilots/sessions/1",
        data={
            **case,
            "reference": "NJP-WEY-2025-002",
            "outcome_completed": "no",
            "victim_satisfaction": "2",
        },
    )
    again = officer.post("/pilots/sessions/1", data={**case, "reference": "NJP-WEY-2025-002"})
    assert "already recorded" in again.text
    page = client_as(Role.BOARD_MEMBER).get("/pilots/1").text
    assert "50%" in page and "3.0 of 5" in page
