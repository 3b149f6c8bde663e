"""The public transparency page, its CSV and the open-data files (OCDS, 360Giving), with
no sign-in. What may appear is chosen in pam.transparency.publication, column by column
here and in the open-data modules: never bid content, never a person's name or contact
details (decisions say when, not who)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, json, render_template, url_for

from pam.exports.responses import XLSX
from pam.exports.tabular import Sheet, to_csv
from pam.transparency import ocds, publication, threesixty

bp = Blueprint("transparency", __name__)


def published_decisions() -> list[dict]:
    return [
        {
            "reference": d.reference,
            "title": d.title,
            "type": d.decision_type.label,
            "outcome": d.status.label,
            "decided_on": d.decided_on,
            "value": d.total,
            "provider": d.provider.name if d.provider else "",
            "summary": d.summary,
        }
        for d in publication.decisions()
    ]


def published_contracts() -> list[dict]:
    return [
        {
            "reference": c.reference,
            "title": c.title,
            "provider": c.provider.name,
            "service": c.service_category.name,
            "start_on": c.start_on,
            "end_on": c.end_on,
            "value": c.total_value,
            "status": c.status.label,
        }
        for c in publication.contracts()
    ]


def published_tenders() -> list[dict]:
    """Published tenders above the threshold: what is being bought and when, never a bid."""
    return [
        {
            "reference": t.reference,
            "title": t.title,
            "procedure": t.procedure.label,
            "value": t.estimated_value,
            "closes": t.submission_deadline,
            "status": t.status.label,
        }
        for t in publication.tenders()
    ]


@bp.get("/transparency")
def index():
    contracts, tenders = published_contracts(), published_tenders()
    return render_template(
        "transparency/index.html",
        decisions=published_decisions(),
        contracts=contracts,
        tenders=tenders,
        has_grants=bool(publication.grants()),
        threshold=publication.threshold(),
        open_data_licence=current_app.config["PAM_OPEN_DATA_LICENCE"],
    )


@bp.get("/transparency.csv")
def download():
    """The same lists as one CSV (public: not audited per download, like the page)."""
    rows = [
        [
            "Decision",
            d["reference"],
            d["title"],
            d["provider"],
            d["value"],
            d["decided_on"],
            d["outcome"],
        ]
        for d in published_decisions()
    ]
    rows += [
        ["Tender", t["reference"], t["title"], "", t["value"], t["closes"].date(), t["status"]]
        for t in published_tenders()
    ]
    rows += [["Contract", c["reference"], c["title"], c["provider"], c["value"], c["start_on"],
              c["status"]] for c in published_contracts()]  # fmt: skip
    sheet = Sheet(
        "Transparency",
        ["Kind", "Reference", "Title", "Provider", "Value (£)", "Date", "Status"],
        rows,
    )
    return _attachment(to_csv(sheet), "text/csv", "opcc-transparency.csv")


# --- open data ---------------------------------------------------------------------------


@bp.get("/transparency/ocds-releases.json")
def ocds_releases():
    """Every published contracting process's releases, as an OCDS release package."""
    package = ocds.release_package(url_for("transparency.ocds_releases", _external=True))
    return _json(package, "releases", "opcc-ocds-releases.json")


@bp.get("/transparency/ocds-records.json")
def ocds_records():
    """One OCDS record per contracting process: its releases and the compiled release."""
    package = ocds.record_package(url_for("transparency.ocds_records", _external=True))
    return _json(package, "records", "opcc-ocds-records.json")


@bp.get("/transparency/360giving.json")
def giving_json():
    return _json(threesixty.package(), "grants", "opcc-360giving.json")


@bp.get("/transparency/360giving.xlsx")
def giving_xlsx():
    if not publication.grants():
        abort(404, description="No grants are published yet.")
    return _attachment(threesixty.spreadsheet(), XLSX, "opcc-360giving.xlsx")


def _json(package: dict, key: str, filename: str) -> Response:
    """The package, or 404 while it would be empty (both standards need one entry)."""
    if not package[key]:
        abort(404, description="Nothing is published in this form yet.")
    body = json.dumps(package, ensure_ascii=False, indent=1, sort_keys=False)
    return _attachment(body.encode("utf-8"), "application/json", filename, inline=True)


def _attachment(body: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    response = Response(body, mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    response.headers.set("Content-Disposition", disposition, filename=filename)
    return response
