"""Tender pages for officers (draft, publish, answer, evaluate, award) and providers (read,
ask, bid, withdraw). Bid content reaches a page only through tender_services.bid_content."""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from pam.auth.forms import ConfirmForm
from pam.auth.models import Role, User
from pam.auth.permissions import Permission, can, refuse, require
from pam.core.forms import save_all, save_change, uploaded, whole_number
from pam.core.periods import UK, today_in_uk
from pam.decisions import services as decision_services
from pam.extensions import db
from pam.files.services import download_response
from pam.market import tender_services as tenders
from pam.market.models import Clarification, MarketAssessment, Tender, TenderStatus
from pam.market.tender_forms import (
    AnswerForm,
    DeclarationForm,
    EvaluatorForm,
    QuestionForm,
    TenderForm,
    bid_form_class,
)
from pam.providers.models import Area, ServiceCategory

bp = Blueprint("tenders", __name__)


def now() -> datetime:
    """The server's clock: deadlines never trust a browser's."""
    return datetime.now(UTC)


def _noon_uk(day) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UK).astimezone(UTC)


def _load(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id) or abort(404)
    staff = can(current_user, Permission.VIEW_MARKET)
    if not staff and (
        not can(current_user, Permission.BID_FOR_TENDERS) or tender.status == TenderStatus.DRAFT
    ):
        refuse(current_user)
    return tender


def _back(tender: Tender) -> str:
    return url_for("tenders.detail", tender_id=tender.id)


@bp.get("/tenders")
@login_required
def index():
    staff = can(current_user, Permission.VIEW_MARKET)
    if not staff and not can(current_user, Permission.BID_FOR_TENDERS):
        refuse(current_user)
    query = select(Tender).order_by(Tender.submission_deadline.desc())
    if not staff:
        query = query.where(Tender.status != TenderStatus.DRAFT)
    return render_template(
        "market/tenders.html", tenders=db.session.scalars(query).all(), staff=staff, now=now()
    )


@bp.get("/tenders/<int:tender_id>")
@login_required
def detail(tender_id: int):
    tender = _load(tender_id)
    moment = now()
    context = {
        "tender": tender,
        "now": moment,
        "open_for_bids": tenders.is_open_for_bids(tender, moment),
        "staff": can(current_user, Permission.VIEW_MARKET),
        "can_manage": can(current_user, Permission.MANAGE_MARKET),
        "confirm_form": ConfirmForm(),
        "question_form": QuestionForm(),
        "answer_form": AnswerForm(),
    }
    if can(current_user, Permission.BID_FOR_TENDERS):
        mine = tenders.live_bid(tender, current_user.organisation_id)
        context["my_bid"] = mine
        context["my_bid_content"] = tenders.bid_content(current_user, mine) if mine else None
    if context["staff"]:
        context["live_bids"] = tenders.live_bids(tender)
        context["complete"] = tenders.evaluation_complete(tender)
        context["ranking"] = tenders.ranking(tender) if context["complete"] else []
        context["me_evaluator"] = next(
            (e for e in tender.evaluators if e.user_id == current_user.id), None
        )
        form = EvaluatorForm()
        assigned = {e.user_id for e in tender.evaluators}
        form.user_id.choices = [SelectChoice("", "Choose an officer")] + [
            SelectChoice(u.id, u.full_name)
            for u in db.session.scalars(
                select(User).where(User.role == Role.OFFICER, User.is_active_account.is_(True))
            )
            if u.id not in assigned
        ]
        context["evaluator_form"] = form
        context["declaration_form"] = DeclarationForm()
    return render_template("market/tender_detail.html", **context)


@bp.route("/tenders/new", methods=["GET", "POST"])
@require(Permission.MANAGE_MARKET)
def new():
    form = TenderForm()
    form.service_category_id.choices = [SelectChoice("", "Select a service")] + [
        SelectChoice(s.id, s.name)
        for s in db.session.scalars(select(ServiceCategory).order_by(ServiceCategory.name))
    ]
    form.areas.choices = [
        SelectChoice(a.id, a.name)
        for a in db.session.scalars(
            select(Area).where(Area.is_active.is_(True)).order_by(Area.name)
        )
    ]
    form.market_assessment_id.choices = [SelectChoice("", "None")] + [
        SelectChoice(m.id, m.title)
        for m in db.session.scalars(select(MarketAssessment).order_by(MarketAssessment.title))
        if m.published_versions
    ]
    if request.method == "GET":
        form.criteria.data = "Quality | 60\nPrice | 30\nSocial value | 10"
    if form.validate_on_submit():
        fields = {
            **form.data,
            "clarification_deadline": _noon_uk(form.clarification_deadline.data),
            "submission_deadline": _noon_uk(form.submission_deadline.data),
        }
        tender = save_change(
            form,
            lambda: tenders.create_tender(
                current_user, fields, form.areas.data, form.criteria.parsed
            ),
        )
        if tender is not None:
            flash(f"Tender {tender.reference} has been saved as a draft", "success")
            return redirect(_back(tender))
    return render_template("market/tender_form.html", form=form)


def _post_action(tender: Tender, action, message: str):
    form = ConfirmForm()
    if form.validate_on_submit():
        if save_change(form, lambda: action() or True):
            flash(message, "success")
        else:
            flash(form.form_errors[0] if form.form_errors else "That could not be done", "error")
    return redirect(_back(tender))


@bp.post("/tenders/<int:tender_id>/publish")
@require(Permission.MANAGE_MARKET)
def publish(tender_id: int):
    tender = _load(tender_id)
    return _post_action(
        tender,
        lambda: tenders.publish_tender(current_user, tender, today_in_uk(), now()),
        f"{tender.reference} is published and open for bids",
    )


@bp.post("/tenders/<int:tender_id>/open")
@require(Permission.MANAGE_MARKET)
def open_bids(tender_id: int):
    tender = _load(tender_id)
    return _post_action(
        tender, lambda: tenders.open_bids(current_user, tender, now()), "The bids are open"
    )


@bp.post("/tenders/<int:tender_id>/questions")
@require(Permission.BID_FOR_TENDERS)
def ask(tender_id: int):
    tender = _load(tender_id)
    form = QuestionForm()
    if form.validate_on_submit():
        if save_change(
            form, lambda: tenders.ask_clarification(current_user, tender, form.question.data, now())
        ):
            flash("Your question has been sent; the answer will be published here", "success")
        else:
            flash(form.form_errors[0] if form.form_errors else "Enter your question", "error")
    else:
        flash("Enter your question", "error")
    return redirect(_back(tender))


@bp.post("/tenders/<int:tender_id>/questions/<int:question_id>/answer")
@require(Permission.MANAGE_MARKET)
def answer(tender_id: int, question_id: int):
    tender = _load(tender_id)
    clarification = db.session.get(Clarification, question_id)
    if clarification is None or clarification.tender_id != tender.id:
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit() and save_change(
        form,
        lambda: tenders.answer_clarification(current_user, clarification, form.answer.data) or True,
    ):
        flash("The answer is published to every bidder", "success")
    else:
        flash("Enter the answer", "error")
    return redirect(_back(tender))


@bp.route("/tenders/<int:tender_id>/bid", methods=["GET", "POST"])
@require(Permission.BID_FOR_TENDERS)
def bid(tender_id: int):
    tender = _load(tender_id)
    form = bid_form_class(tender.criteria)()
    if form.validate_on_submit():
        answers = {c.id: form[f"answer_{c.id}"].data for c in tender.criteria}
        document = uploaded(form.document)
        made = save_change(
            form,
            lambda: tenders.submit_bid(
                current_user,
                tender,
                form.price.data,
                answers,
                now(),
                [document] if document else [],
            ),
        )
        if made is not None:
            flash("Your bid has been submitted. It stays sealed until bids close.", "success")
            return redirect(_back(tender))
    return render_template(
        "core/form_page.html",
        form=form,
        heading=f"Bid for {tender.title}",
        caption=tender.reference,
        intro=f"Bids close at noon on {tender.submission_deadline.astimezone(UK):%-d %B %Y}. "
        "Until then you can withdraw your bid and submit a new one.",
        back_url=_back(tender),
        multipart=True,
        field_params={"price": {"classes": "govuk-input--width-10", "prefix": {"text": "£"}}},
    )


@bp.post("/tenders/<int:tender_id>/bid/withdraw")
@require(Permission.BID_FOR_TENDERS)
def withdraw(tender_id: int):
    tender = _load(tender_id)
    mine = tenders.live_bid(tender, current_user.organisation_id) or abort(404)
    return _post_action(
        tender, lambda: tenders.withdraw_bid(current_user, mine, now()), "Your bid is withdrawn"
    )


@bp.post("/tenders/<int:tender_id>/evaluators")
@require(Permission.MANAGE_MARKET)
def add_evaluator(tender_id: int):
    tender = _load(tender_id)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0)
    if user is None:
        flash("Choose an officer", "error")
        return redirect(_back(tender))
    return _post_action(
        tender,
        lambda: tenders.assign_evaluator(current_user, tender, user),
        f"{user.full_name} will evaluate the bids",
    )


def _my_evaluator(tender: Tender):
    evaluator = next((e for e in tender.evaluators if e.user_id == current_user.id), None)
    if evaluator is None:
        refuse(current_user)
    return evaluator


@bp.post("/tenders/<int:tender_id>/declare")
@require(Permission.MANAGE_MARKET)
def declare(tender_id: int):
    tender = _load(tender_id)
    evaluator = _my_evaluator(tender)
    form = DeclarationForm()
    if form.validate_on_submit():
        has_conflict = form.has_conflict.data == "yes"
        if save_change(
            form,
            lambda: (
                tenders.declare_interest(
                    current_user, evaluator, has_conflict, form.declaration.data
                )
                or True
            ),
        ):
            flash("Your declaration is recorded", "success")
        else:
            flash(form.form_errors[0] if form.form_errors else form.declaration.errors[0], "error")
    return redirect(_back(tender))


@bp.route("/tenders/<int:tender_id>/score", methods=["GET", "POST"])
@require(Permission.MANAGE_MARKET)
def score(tender_id: int):
    tender = _load(tender_id)
    evaluator = _my_evaluator(tender)
    if evaluator.has_conflict is None:
        flash("Declare any conflict of interest before you see the bids", "error")
        return redirect(_back(tender))
    if evaluator.has_conflict:
        flash("You declared a conflict of interest, so you do not score this tender", "error")
        return redirect(_back(tender))
    bids = tenders.live_bids(tender)
    problems: list[str] = []
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        finish = bool(request.form.get("finish"))
        problems = _save_scores(tender, evaluator, bids, finish)
        if not problems and finish:
            flash("Your scores are submitted: you can now see the other evaluators'", "success")
            return redirect(_back(tender))
        if not problems:
            flash("Your scores are saved", "success")
            return redirect(url_for("tenders.score", tender_id=tender.id))
    try:
        contents = {b.id: tenders.bid_content(current_user, b) for b in bids}
    except tenders.SealedBidError:
        flash("The bids are still sealed", "error")
        return redirect(_back(tender))
    given = {(s.bid_id, s.criterion_id): s for s in evaluator.scores}
    return render_template(
        "market/tender_score.html",
        tender=tender,
        evaluator=evaluator,
        bids=bids,
        contents=contents,
        given=given,
        problems=problems,
        form=ConfirmForm(),
    )


def _cells(tender: Tender, bids, fields: tuple[str, str], bid_name):
    """Each bid x criterion cell of a scoring grid, posted as "<field>-<bid>-<criterion>":
    (bid, criterion, the score as typed, the text beside it, where to say a problem is)."""
    score_field, text_field = fields
    for bid in bids:
        for criterion in tender.criteria:
            cell = f"{bid.id}-{criterion.id}"
            yield (
                bid,
                criterion,
                request.form.get(f"{score_field}-{cell}", "").strip(),
                request.form.get(f"{text_field}-{cell}", ""),
                f"{bid_name(bid)}, {criterion.name}",
            )


def _save_scores(tender: Tender, evaluator, bids, finish: bool) -> list[str]:
    """Every score an evaluator typed, with its reason, and (when finishing) the
    submission of them all, in one transaction: any problem with a score saves nothing.
    A submission refused as incomplete still keeps the scores typed so far."""
    refusal: list[str] = []

    def change() -> list[str]:
        problems = []
        for bid, criterion, raw, why, where in _cells(
            tender, bids, ("score", "why"), lambda bid: f"Bid {bid.id}"
        ):
            if raw == "" and not why.strip():
                continue
            record = partial(tenders.record_score, current_user, evaluator, bid, criterion)
            problems += _scored(where, raw, partial(record, justification=why))
        if finish and not problems:
            try:
                tenders.submit_scores(current_user, evaluator)
            except tenders.BusinessRuleError as refused:
                refusal.append(refused.message)
        return problems

    return save_all(change) or refusal


def _save_moderation(tender: Tender, bids) -> list[str]:
    """The agreed scores, unless the grid was opened before someone else's save: then
    nothing is saved and the page keeps this officer's input beside what is saved now.
    A blank score withdraws an agreed one (back to the evaluators' average); a note
    without a score is a problem, not silently dropped."""

    def change() -> list[str]:
        tenders.begin_moderation(current_user, tender, whole_number(request.form.get("version")))
        problems = []
        for bid, criterion, raw, note, where in _cells(
            tender, bids, ("final", "note"), lambda bid: bid.provider.name
        ):
            if raw == "" and note.strip():
                problems.append(f"{where}: enter the agreed score for your note, or clear it")
            elif raw == "":
                tenders.clear_moderation(current_user, bid, criterion)
            else:
                agree = partial(tenders.moderate, current_user, tender, bid, criterion)
                problems += _scored(where, raw, partial(agree, note=note))
        return problems

    return save_all(change, what="tender's agreed scores")


def _scored(where: str, raw: str, save) -> list[str]:
    """Save one typed score, or say what is wrong with it."""
    score = whole_number(raw)
    if score is None:
        return [f"{where}: enter a whole-number score"]
    try:
        save(score)
    except tenders.BusinessRuleError as error:
        return [f"{where}: {error.message}"]
    return []


@bp.post("/tenders/<int:tender_id>/award")
@require(Permission.MANAGE_MARKET)
def award(tender_id: int):
    """Draft the contract-award decision for the top-ranked bid (a decision maker approves)."""
    tender = _load(tender_id)
    ranked = tenders.ranking(tender) if tenders.evaluation_complete(tender) else []
    if not ranked:
        flash("The evaluation must be complete before an award is recommended", "error")
        return redirect(_back(tender))
    top = ranked[0]
    content = tenders.bid_content(current_user, top.bid)
    fields = {
        "title": f"Award {tender.reference}: {tender.title}",
        "decision_type": "contract_award",
        "provider_id": top.bid.provider_id,
        "tender_id": tender.id,
        "summary": f"Award to {top.bid.provider.name}, ranked first with {top.weighted} of 100",
        "rationale": "Highest weighted score after moderation"
        if top.moderated
        else "Highest weighted score",
        "options_considered": "; ".join(f"{r.bid.provider.name} ({r.weighted})" for r in ranked),
        "terms": {
            "contract_reference": tender.reference,
            "service_category_id": tender.service_category_id,
            "area_ids": [a.id for a in tender.areas],
        },
    }
    form = ConfirmForm()
    decision = save_change(
        form,
        lambda: decision_services.create_decision(current_user, fields, [], today_in_uk()),
    )
    if decision is None:
        flash(
            form.form_errors[0] if form.form_errors else "The decision could not be drafted",
            "error",
        )
        return redirect(_back(tender))
    flash(
        f"Decision {decision.reference} drafted (the bid's price is £{content.price:,.2f}): "
        "add the money by year and the contract dates, then submit it",
        "success",
    )
    return redirect(url_for("decisions.form", decision_id=decision.id))


@bp.route("/tenders/<int:tender_id>/moderate", methods=["GET", "POST"])
@require(Permission.MANAGE_MARKET)
def moderate(tender_id: int):
    """Agree final scores: each evaluator's score and reason beside the agreed one."""
    tender = _load(tender_id)
    if not tenders.evaluation_complete(tender):
        flash("Moderation starts once every evaluator has submitted scores", "error")
        return redirect(_back(tender))
    bids = tenders.live_bids(tender)
    problems: list[str] = []
    if request.method == "POST" and ConfirmForm().validate_on_submit():
        problems = _save_moderation(tender, bids)
        if not problems:
            flash("The moderated scores are saved and the ranking updated", "success")
            return redirect(_back(tender))
    scores = tenders.scores_visible_to(current_user, tender)
    return render_template(
        "market/tender_moderate.html",
        tender=tender,
        bids=bids,
        scores=scores,
        moderated=tenders.moderated_scores(tender),
        problems=problems,
        form=ConfirmForm(),
    )


@bp.get("/tenders/<int:tender_id>/bids/<int:bid_id>/documents/<int:document_id>")
@login_required
def bid_document(tender_id: int, bid_id: int, document_id: int):
    """A bid's document, under the same seal as its answers."""
    tender = _load(tender_id)
    placed = next((b for b in tender.bids if b.id == bid_id), None)
    document = next((d for d in placed.documents if d.id == document_id), None) if placed else None
    if document is None:
        abort(404)
    try:
        tenders.bid_content(current_user, placed)
    except tenders.SealedBidError:
        refuse(current_user)
    return download_response(current_user, document.file, f"bid document, {tender.reference}")
