"""A real browser (Debian's Chromium, driven by Playwright) uses the portal end to end.

These prove what the HTML-level tests cannot: the built CSS and JavaScript load under the
strict Content-Security-Policy, GOV.UK components start, and a user can sign in through
the real CSRF-protected form. Every document a journey loads is scanned with axe-core for
WCAG 2.2 AA: a serious or critical violation fails the test that met it.

Skipped (with the reason) where no Chromium is installed; set PAM_REQUIRE_BROWSER=1 to
make a missing browser (or a missing axe-core: run `make setup`) a failure instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from pam import create_app
from pam.auth.models import Role
from tests.conftest import TEST_PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"

if not os.environ.get("PAM_REQUIRE_BROWSER"):
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)
    if not AXE.exists():
        pytest.skip("axe-core is not installed (make setup)", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

# WCAG 2.0, 2.1 and 2.2 at A and AA, with axe's best practices (landmarks, headings).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
AXE_RUN = """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
  .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""


@pytest.fixture(scope="module")
def live_server(database_url):
    """The portal with its production-like settings (CSRF on), on a free local port."""
    yield from serve(database_url)


def serve(database_url, **settings):
    app = create_app(
        {
            "PAM_ENV": "testing",
            "SECRET_KEY": "browser-test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            **settings,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class ScannedPage:
    """A Playwright page that has axe-core scan every document it loads.

    axe is added as an init script (through the DevTools protocol, so the portal's own
    Content-Security-Policy stays in force). A document is scanned just before the test
    next acts on the page, which is while that document is still the one shown, and once
    more when the test ends: so no page of a journey goes unscanned."""

    def __init__(self, page, violations: list):
        self._page, self._violations = page, violations
        self._loads = self._scanned = 0
        self.problems: list[str] = []  # console errors and uncaught exceptions
        self.urls: list[str] = []  # every document scanned, in order
        page.on("load", self._loaded)
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda error: self.problems.append(str(error)))

    def _loaded(self, _page) -> None:
        self._loads += 1

    def scan(self) -> None:
        if self._scanned == self._loads:
            return
        self._scanned = self._loads
        self._page.wait_for_load_state()
        self.urls.append(self._page.url)
        for violation in self._page.evaluate(AXE_RUN, AXE_TAGS):
            self._violations.append({"url": self._page.url, **violation})

    def __getattr__(self, name):
        attribute = getattr(self._page, name)
        if not callable(attribute):
            return attribute

        def after_scanning(*args, **kwargs):
            self.scan()
            return attribute(*args, **kwargs)

        return after_scanning


@pytest.fixture
def open_page(browser):
    """open_page(): a new signed-out browser context's page, scanned by axe as it goes.
    At the end of the test every serious or critical violation found fails it."""
    violations: list[dict] = []
    opened: list[ScannedPage] = []

    def new_page(**context_options) -> ScannedPage:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        context.add_init_script(path=str(AXE))
        page = ScannedPage(context.new_page(), violations)
        opened.append(page)
        return page

    yield new_page
    for page in opened:
        page.scan()
        page.context.close()
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, "accessibility violations:\n" + "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {v['url']}: {v['nodes']}" for v in failing
    )
    assert all(page.urls for page in opened), "a page was opened but never scanned"


@pytest.fixture
def page(open_page):
    return open_page()


def sign_in(page, live_server, email, password=TEST_PASSWORD):
    page.goto(f"{live_server}/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def test_officer_signs_in_and_the_styled_portal_works(page, live_server, make_user):
    officer = make_user(role=Role.OFFICER)
    sign_in(page, live_server, officer.email)
    page.wait_for_url(f"{live_server}/home")
    assert page.locator("h1").inner_text().startswith("Welcome")
    # The stylesheet loaded and applied, with Arial in place of GOV.UK Transport.
    body_font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "arial" in body_font.lower()
    # JavaScript ran under the CSP: the body is marked and GOV.UK Frontend initialised.
    assert "js-enabled" in page.evaluate("document.body.className")
    page.click("text=Providers")
    assert page.locator("h1").inner_text() == "Providers"
    assert page.problems == []


def test_a_wrong_password_shows_the_error_summary_and_keeps_the_email(page, live_server, make_user):
    user = make_user()
    sign_in(page, live_server, user.email, "not the password")
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "Enter a correct email address and password" in summary.inner_text()
    assert page.input_value("#email") == user.email
    # GOV.UK's error summary script moves focus to the summary for screen-reader users.
    assert page.evaluate("document.activeElement.classList.contains('govuk-error-summary')")
    assert page.problems == []


def test_the_password_show_button_works(page, live_server):
    page.goto(f"{live_server}/sign-in")
    page.fill("#password", "secret words")
    page.click("text=Show")
    assert page.get_attribute("#password", "type") == "text"


def test_the_full_return_cycle_in_a_browser(
    open_page, live_server, make_user, make_contract, tmp_path
):
    """Provider downloads the template, fills it (openpyxl, then saved by LibreOffice Calc
    where installed), uploads it; the officer queries; the provider resubmits online; the
    officer accepts; the contract page shows the figures and their RAG."""
    from decimal import Decimal

    from sqlalchemy import select

    from pam.core.periods import Period
    from pam.extensions import db
    from pam.outcomes import services as outcome_services
    from pam.outcomes.dictionary import seed_dictionary
    from pam.outcomes.models import Metric
    from tests.conftest import FACTORY
    from tests.test_returns import SOFFICE, answers_for, fill, save_with_libreoffice

    seed_dictionary(FACTORY)
    contract = make_contract(reference="RJ-LIVE")
    framework = outcome_services.framework_for(FACTORY, contract)
    for code, target in (("RJ01", "30"), ("RJ08", "85")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
        )
    db.session.commit()
    provider_user = make_user(role=Role.PROVIDER, organisation=contract.provider)
    officer_user = make_user(role=Role.OFFICER)
    return_url = f"{live_server}/contracts/{contract.id}/returns/2025-26-Q2"

    provider = open_page()
    sign_in(provider, live_server, provider_user.email)
    provider.goto(return_url)
    with provider.expect_download() as download_info:
        provider.click("text=return template (.xlsx)")
    downloaded = download_info.value.path().read_bytes()
    setup = {"contract": contract}
    filled = fill(downloaded, answers_for(setup, **{"K:RJ01": 31, "K:RJ08": 80}))
    if SOFFICE:
        filled = save_with_libreoffice(filled, tmp_path)
    (tmp_path / "return.xlsx").write_bytes(filled)
    provider.click("text=Upload it")
    provider.set_input_files("#file", str(tmp_path / "return.xlsx"))
    provider.fill("#signed_off_by", "Amy Turner, Service manager")
    provider.check("#confirm")
    with provider.expect_navigation():
        provider.click("main button[type=submit]")
    assert "has been submitted" in provider.inner_text("main")

    officer = open_page()
    sign_in(officer, live_server, officer_user.email)
    officer.goto(return_url)
    officer.check("input[value=queried]")
    officer.fill("#comment", "Satisfaction fell: what happened?")
    with officer.expect_navigation():
        officer.click("text=Record decision")
    assert "has been queried" in officer.inner_text("main")

    provider.goto(return_url)
    assert "Satisfaction fell: what happened?" in provider.inner_text("main")
    provider.click("text=fill the return in online")
    provider.fill("[name='K:RJ08']", "86")
    provider.fill("#signed_off_by", "Amy Turner, Service manager")
    provider.check("#confirm")
    with provider.expect_navigation():
        provider.click("text=Submit return")
    assert "has been submitted" in provider.inner_text("main")

    officer.goto(return_url)
    officer.check("input[value=accepted]")
    with officer.expect_navigation():
        officer.click("text=Record decision")
    officer.goto(f"{live_server}/contracts/{contract.id}?year=2025-26")
    table = officer.inner_text("table.pam-performance")
    assert "31 / 30" in table and "86% / 85%" in table and "Green" in table
    assert officer.locator("#trend-chart .main-svg").count() > 0  # the chart was drawn


def test_the_whole_commissioning_cycle_in_a_browser(
    open_page, live_server, make_user, make_organisation, make_service, make_area, monkeypatch
):
    """Assessment published -> tender opened -> two providers bid -> bids open after the
    deadline -> two evaluators score -> award recommended -> decision drafted, submitted and
    approved by someone else -> the contract exists -> it is on the transparency page.
    The server's clock is moved past the deadline (the views ask tender_views.now())."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from pam.contracts.models import Contract
    from pam.decisions import services as decision_services
    from pam.extensions import db
    from pam.market import tender_views
    from tests.conftest import FACTORY

    service, area = make_service("Restorative justice"), make_area("Dorset")
    line = decision_services.save_budget_line(
        FACTORY,
        None,
        {"year": "2027/28", "code": "CORE", "name": "Core", "funder": "PCC", "allocation": 500000},
    )
    db.session.commit()
    officer, evaluator_two = make_user(role=Role.OFFICER), make_user(role=Role.OFFICER)
    cfo = make_user(role=Role.DECISION_MAKER)
    bidders = [
        make_user(role=Role.PROVIDER, organisation=make_organisation(name))
        for name in ("Alpha Mediation", "Beta Justice")
    ]

    def page_for(user):
        page = open_page()
        sign_in(page, live_server, user.email)
        return page

    def submit(page, text):
        with page.expect_navigation():
            page.click(f"main button:has-text('{text}')")

    lead = page_for(officer)
    # 1. A market assessment, evidenced and published.
    lead.goto(f"{live_server}/market/new")
    lead.fill("#title", "RJ needs in Dorset")
    lead.select_option("#service_category_id", str(service.id))
    lead.check(f"input[name=areas][value='{area.id}']")
    for key in ("need", "supply", "gaps", "risks", "recommendations"):
        lead.fill(f"#{key}", f"The {key}.")
    submit(lead, "Save draft")
    lead.click("text=Add co-production evidence")
    lead.fill("#stakeholders", "Victims' forum")
    lead.fill("#method", "Focus group")
    for part, value in (("day", "1"), ("month", "3"), ("year", "2026")):
        lead.fill(f"#held_on-{part}", value)
    lead.fill("#what_they_said", "Evening sessions")
    submit(lead, "Add evidence")
    submit(lead, "Publish")
    assert "Version 1 has been published" in lead.inner_text("main")

    # 2. A tender, published with a deadline a week away.
    deadline = datetime.now(UTC) + timedelta(days=7)
    lead.goto(f"{live_server}/tenders/new")
    lead.fill("#reference", "T-LIVE-1")
    lead.fill("#title", "Countywide RJ service")
    lead.select_option("#service_category_id", str(service.id))
    lead.check(f"input[name=areas][value='{area.id}']")
    lead.fill("#estimated_value", "300000")
    lead.check("input[name=procedure][value=open]")
    for field, day in (
        ("clarification_deadline", deadline - timedelta(days=3)),
        ("submission_deadline", deadline),
    ):
        for part, value in (("day", day.day), ("month", day.month), ("year", day.year)):
            lead.fill(f"#{field}-{part}", str(value))
    submit(lead, "Save draft")
    submit(lead, "Publish the tender")
    tender_url = lead.url

    # 3. Two providers bid.
    for bidder, price, quality in (
        (bidders[0], "280000", "A strong plan"),
        (bidders[1], "250000", "A thin plan"),
    ):
        page = page_for(bidder)
        page.goto(tender_url)
        page.click("text=Submit a bid")
        page.fill("#price", price)
        for box in page.locator("main textarea").all():
            box.fill(quality)
        submit(page, "Submit bid")
        assert "Your bid has been submitted" in page.inner_text("main")
    lead.goto(tender_url)
    assert "2 bids received" in lead.inner_text("main") and "A strong plan" not in lead.content()

    # 4. The deadline passes; the bids open; two evaluators declare and score.
    later = datetime.now(UTC) + timedelta(days=8)
    monkeypatch.setattr(tender_views, "now", lambda: later)
    for user in (officer, evaluator_two):
        lead.goto(tender_url)
        lead.select_option("#user_id", str(user.id))
        submit(lead, "Add evaluator")
    submit(lead, "Open the bids")
    for user, marks in ((officer, ("5", "2")), (evaluator_two, ("4", "3"))):
        page = lead if user is officer else page_for(user)
        page.goto(tender_url)
        page.check("input[name=has_conflict][value=no]")
        submit(page, "Make declaration")
        with page.expect_navigation():  # the whole scoring page, not a half-parsed one
            page.click("text=Score the bids")
        page.wait_for_load_state()
        inputs = page.locator("main input[name^=score-]").all()
        reasons = page.locator("main textarea[name^=why-]").all()
        for index, (box, why) in enumerate(zip(inputs, reasons, strict=True)):
            box.fill(marks[0] if index < len(inputs) // 2 else marks[1])
            why.fill("Evidence in the answer")
        submit(page, "Submit my scores")
    lead.goto(tender_url)
    assert "Alpha Mediation" in lead.inner_text("main"), lead.inner_text("main")

    # 5. The award decision is drafted, completed, submitted, and approved by the CFO.
    submit(lead, "Draft the award decision for the top bid")
    lead.select_option("#line_1", str(line.id))
    lead.fill("#amount_1", "280000")
    for field, (d, m, y) in (("start_on", ("1", "4", "2027")), ("end_on", ("31", "3", "2028"))):
        for part, value in (("day", d), ("month", m), ("year", y)):
            lead.fill(f"#{field}-{part}", value)
    lead.fill("#rationale", "Highest score")
    lead.check("#is_public_interest")
    submit(lead, "Save draft")
    submit(lead, "Submit for decision")
    decision_url = lead.url
    approver = page_for(cfo)
    approver.goto(decision_url)
    approver.click("text=Decide")
    approver.check("input[name=outcome][value=approved]")
    submit(approver, "Record the decision")
    assert "has been approved" in approver.inner_text("main")

    # 6. The contract exists and the public can see it.
    contract = db.session.scalar(select(Contract).where(Contract.reference == "T-LIVE-1"))
    assert contract is not None and contract.provider.name == "Alpha Mediation"
    public = open_page()
    public.goto(f"{live_server}/transparency")
    text = public.inner_text("main")
    assert "T-LIVE-1" in text and "Award T-LIVE-1" in text


def test_a_board_member_uses_the_dashboards_and_downloads_the_board_pack(
    page, live_server, make_user, dataset
):
    """Sign in, see the charts drawn, change a filter (kept in the address), open a data
    table, and download the board pack, which opens as a workbook."""
    import io

    import openpyxl

    from tests.conftest import report

    report(dataset["north"], "2025/26-Q1", RJ01="24", VS02="3")
    report(dataset["south"], "2025/26-Q1", RJ01="19", VS02="12")
    board = make_user(role=Role.BOARD_MEMBER)
    sign_in(page, live_server, board.email)
    page.goto(f"{live_server}/dashboards/outcomes?year=2025-26")
    page.wait_for_selector(".js-plotly-plot")  # Plotly drew under the strict CSP
    page.select_option("#quarter", "1")
    with page.expect_navigation():
        page.click("text=Apply filters")
    assert "quarter=1" in page.url and "year=2025-26" in page.url
    table = page.locator("#people-title ~ details")
    table.locator("summary").click()
    assert "Victims supported" in table.inner_text()
    assert "[c]" not in table.inner_text()  # 15 in all: nothing small to hide here
    page.click("text=Board packs and exports")
    page.select_option("#period", "2025-26-Q1")
    with page.expect_download() as download:
        page.click("text=Download the board pack (.xlsx)")
    body = open(download.value.path(), "rb").read()  # noqa: SIM115
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    assert workbook.sheetnames[0] == "Cover"
    assert page.problems == []


# --- every role, keyboard only, two-factor -------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_signs_in_and_every_page_in_its_menu_is_accessible(
    open_page, live_server, make_user, make_organisation, role
):
    """Signing in lands on the home page, and each item of the role's service navigation
    opens (all of them scanned by axe on the way)."""
    organisation = make_organisation("Purbeck Mediation") if role == Role.PROVIDER else None
    user = make_user(role=role, organisation=organisation)
    page = open_page()
    sign_in(page, live_server, user.email)
    page.wait_for_url(f"{live_server}/home")
    menu = page.locator(".govuk-service-navigation__list a.govuk-service-navigation__link")
    links = [(link.inner_text(), link.get_attribute("href")) for link in menu.all()]
    assert len(links) >= 3, links
    for label, href in links:
        response = page.goto(f"{live_server}{href}")
        assert response.status == 200, f"{label} ({href}) answered {response.status}"
        assert page.locator("h1").count() == 1, f"{label} ({href}) needs one main heading"
    assert page.problems == []


def tab_to(page, selector: str, presses: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus, which must show."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            assert page.evaluate(FOCUS_SHOWS), f"{selector} has the focus but does not show it"
            return
    pytest.fail(f"{selector} cannot be reached with the Tab key")


# The GOV.UK focus state: an outline or a box-shadow on the element, or on the label's
# ::before box for its styled radios and checkboxes (whose real input is transparent).
FOCUS_SHOWS = """() => {
  const shows = (s) => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                       || s.boxShadow !== 'none';
  const e = document.activeElement;
  if (shows(getComputedStyle(e))) return true;
  return Boolean(e.labels && e.labels[0] && shows(getComputedStyle(e.labels[0], '::before')));
}"""


def contract_with_measures(make_contract, reference: str):
    from decimal import Decimal

    from sqlalchemy import select

    from pam.core.periods import Period
    from pam.extensions import db
    from pam.outcomes import services as outcome_services
    from pam.outcomes.dictionary import seed_dictionary
    from pam.outcomes.models import Metric
    from tests.conftest import FACTORY

    seed_dictionary(FACTORY)
    contract = make_contract(reference=reference)
    framework = outcome_services.framework_for(FACTORY, contract)
    for code, target in (("RJ01", "30"), ("RJ08", "85")):
        metric = db.session.scalar(select(Metric).where(Metric.code == code))
        outcome_services.add_measure(
            FACTORY, framework, metric, Decimal(target), Period.parse("2025/26-Q1")
        )
    db.session.commit()
    return contract


def test_a_provider_uploads_a_return_with_the_keyboard_alone(
    open_page, live_server, make_user, make_contract, tmp_path
):
    """Sign in, find the return, choose the file, sign off and submit: Tab, typing,
    Space and Enter only, with the focus visible at every stop."""
    from tests.test_returns import answers_for, fill

    contract = contract_with_measures(make_contract, "RJ-KEYS")
    provider = make_user(role=Role.PROVIDER, organisation=contract.provider)
    page = open_page()
    page.goto(f"{live_server}/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    tab_to(page, "#email")
    page.keyboard.type(provider.email)
    tab_to(page, "#password")
    page.keyboard.type(TEST_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "a.govuk-service-navigation__link[href='/returns']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, f"main a[href='/contracts/{contract.id}/returns/2025-26-Q2']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with page.expect_download() as download:
        tab_to(page, "main a[href$='template.xlsx']")
        page.keyboard.press("Enter")
    filled = fill(
        download.value.path().read_bytes(),
        answers_for({"contract": contract}, **{"K:RJ01": 31, "K:RJ08": 80}),
    )
    (tmp_path / "return.xlsx").write_bytes(filled)
    tab_to(page, "main a[href$='/upload']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    with page.expect_file_chooser() as chooser:
        tab_to(page, "#file, .govuk-file-upload-button")
        page.keyboard.press("Space")
    chooser.value.set_files(str(tmp_path / "return.xlsx"))
    tab_to(page, "#signed_off_by")
    page.keyboard.type("Amy Turner, Service manager")
    tab_to(page, "#confirm")
    page.keyboard.press("Space")
    assert page.is_checked("#confirm")
    tab_to(page, "main button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "has been submitted" in page.inner_text("main")
    assert page.problems == []


@pytest.fixture(scope="module")
def two_factor_server(database_url):
    """The portal as production runs it: two factors required of staff."""
    yield from serve(database_url, PAM_REQUIRE_TWO_FACTOR=True)


def test_a_decision_maker_sets_up_two_factor_then_approves_with_a_fresh_code(
    open_page, two_factor_server, make_user
):
    import time
    from decimal import Decimal

    import pyotp

    from pam.core.periods import today_in_uk
    from pam.decisions import services as decisions
    from pam.extensions import db
    from tests.conftest import FACTORY

    officer, cfo = make_user(role=Role.OFFICER), make_user(role=Role.DECISION_MAKER)
    line = decisions.save_budget_line(
        FACTORY, None,
        {"year": "2027/28", "code": "CORE", "name": "Core", "funder": "PCC",
         "allocation": Decimal("500000")},
    )  # fmt: skip
    decision = decisions.create_decision(
        officer,
        {"title": "Allocate the victims' fund", "decision_type": "budget_allocation",
         "rationale": "Agreed plan", "options_considered": "Allocate; hold"},
        [(line.id, "40000")],
        today_in_uk(),
    )  # fmt: skip
    decisions.submit_decision(officer, decision)
    db.session.commit()

    page = open_page()
    sign_in(page, two_factor_server, cfo.email)
    assert page.locator("h1").inner_text() == "Set up two-factor sign-in"
    totp = pyotp.TOTP(page.inner_text("#two-factor-key").replace(" ", ""))
    now = time.time()
    page.fill("#code", "000000" if totp.now() != "000000" else "111111")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "That code is not right" in page.inner_text(".govuk-error-summary")
    page.fill("#code", totp.at(now))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert len(page.locator("#recovery-codes li").all()) == 10
    with page.expect_navigation():
        page.click("text=I have saved my recovery codes: continue")

    page.goto(f"{two_factor_server}/decisions/{decision.id}/decide")
    page.check("input[name=outcome][value=approved]")
    code = page.locator("#second_factor_code")
    assert code.get_attribute("autocomplete") == "one-time-code"
    code.fill(totp.at(now))  # the code that signed in: used, so refused
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "already been used" in page.inner_text(".govuk-error-summary")
    assert page.is_checked("input[name=outcome][value=approved]")  # the choice is kept
    page.fill("#second_factor_code", totp.at(now + totp.interval))  # the next code
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "has been approved" in page.inner_text("main")
    assert page.problems == []


def test_a_provider_administrator_makes_uses_and_revokes_an_api_token(
    open_page, live_server, make_user, make_organisation
):
    """The token pages in a browser (scanned by axe like every page), and the token they
    show once working against the API until it is revoked."""
    admin = make_user(
        role=Role.PROVIDER, organisation=make_organisation("Purbeck"), is_organisation_admin=True
    )
    page = open_page()
    sign_in(page, live_server, admin.email)
    page.goto(f"{live_server}/account")
    with page.expect_navigation():
        page.click("text=API tokens")
    with page.expect_navigation():
        page.click("text=Create a token")
    with page.expect_navigation():
        page.click("main button[type=submit]")  # nothing filled in
    assert "Give the token a name" in page.inner_text(".govuk-error-summary")
    page.fill("#name", "Case management system")
    page.check("input[name=scopes][value=read]")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    token = page.inner_text("#api-token")

    def call() -> int:
        """From the signed-in browser: its cookie must neither help nor hinder the token."""
        url = f"{live_server}/api/v1/contracts"
        return page.request.get(url, headers={"Authorization": f"Bearer {token}"}).status

    assert call() == 200
    with page.expect_navigation():
        page.click("text=I have copied it: back to API tokens")
    with page.expect_navigation():
        page.click("main button:has-text('Revoke')")
    assert "no longer works" in page.inner_text("main")
    assert call() == 401
    assert page.problems == []
