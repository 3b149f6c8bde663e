"""Importing historic returns in bulk: an office moving from spreadsheets to PAM.

The input is a folder of filled return templates (.xlsx or .csv, each saying which
contract and period it is for) or one long-format CSV with a row per figure:

    contract,period,key,value,explanation
    OPCC-RJ-2024-01,2024/25-Q1,K:RJ01,31,
    OPCC-RJ-2024-01,2024/25-Q1,K:RJ08,88,

Each return goes through exactly the upload's checks (pam.returns.services.submit_return,
the same reading as the upload page) and, if an officer is named, is accepted by them, in
its own savepoint: a return with any problem imports nothing at all (not even a draft),
and its problems are reported with its name; the others are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from pam.auth.permissions import Permission, can, can_submit_return
from pam.contracts.models import Contract
from pam.core.exceptions import BusinessRuleError
from pam.core.periods import Period
from pam.extensions import db
from pam.returns import services
from pam.returns.imports import Entries, FileRefused, identify, read_upload
from pam.returns.models import ReturnSource

RETURN_FILES = (".xlsx", ".csv")
LONG_COLUMNS = ("contract", "period", "key", "value")
IMPORTED = "Imported from historic records"


@dataclass
class Outcome:
    """What became of one return: imported, or not, with every reason."""

    name: str
    reasons: list[str] = field(default_factory=list)
    reference: str = ""
    period: str = ""

    @property
    def imported(self) -> bool:
        return not self.reasons


@dataclass
class Candidate:
    """One return to import: where it came from, and its answers once read."""

    name: str
    reference: str | None
    period: str | None
    content: bytes | None = None  # a template file, read with the upload's own reader
    entries: Entries | None = None  # rows of a long-format CSV, already gathered


def files_in(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in RETURN_FILES
    )  # fmt: skip


def from_files(paths: Iterable[Path]) -> Iterator[Candidate]:
    for path in paths:
        content = path.read_bytes()
        try:
            reference, period = identify(path.name, content)
        except FileRefused as refused:  # say why, not only that it names no return
            yield Candidate(path.name, None, None, entries=Entries().refuse(str(refused)))
            continue
        yield Candidate(path.name, reference, period, content=content)


def from_long_csv(name: str, content: bytes) -> list[Candidate]:
    """One candidate per contract and period in a long-format CSV. A file that cannot be
    read at all is one refused candidate."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Candidate(name, None, None, entries=Entries().refuse("Save the file as UTF-8"))]
    reader = csv.DictReader(io.StringIO(text))
    headings = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [column for column in LONG_COLUMNS if column not in headings]
    if missing:
        message = f"The file needs the columns {', '.join(LONG_COLUMNS)}; missing: "
        return [Candidate(name, None, None, entries=Entries().refuse(message + ", ".join(missing)))]
    gathered: dict[tuple[str, str], Entries] = {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        where = (row["contract"].upper(), row["period"].upper())  # as typed, in any case
        entries = gathered.setdefault(where, Entries())
        if row["key"] in entries.raw:
            entries.refuse(f"Line {line}: {row['key']} is given twice")
        entries.raw[row["key"]] = row["value"]
        entries.where[row["key"]] = f"line {line}"
        if row.get("explanation"):
            entries.explanations[row["key"]] = row["explanation"]
    return [
        Candidate(f"{name}: {reference} {period}", reference, period, entries=entries)
        for (reference, period), entries in gathered.items()
    ]  # references are found in any case; Period.parse reads "2025/26-q1" too


def import_returns(
    candidates: Iterable[Candidate],
    submitter: Any,
    *,
    signed_off_by: str,
    accepted_by: Any = None,
    today: date,
) -> Iterator[Outcome]:
    """Import each candidate on its own, committing the good ones as it goes."""
    for candidate in candidates:
        outcome = Outcome(candidate.name, reference=candidate.reference or "",
                          period=candidate.period or "")  # fmt: skip
        savepoint = db.session.begin_nested()
        try:
            _import_one(candidate, submitter, signed_off_by, accepted_by, today)
        except _Refused as refused:
            outcome.reasons = refused.reasons
        if outcome.imported:
            savepoint.commit()
            db.session.commit()
        else:
            savepoint.rollback()
        yield outcome


class _Refused(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _import_one(candidate: Candidate, submitter, signed_off_by, accepted_by, today) -> None:
    contract, period = _contract_and_period(candidate)
    if not can_submit_return(submitter, contract):
        raise _Refused([f"{submitter.email} cannot submit returns for {contract.reference}"])
    if period not in services.reporting_periods(contract, today):
        raise _Refused([f"{period.label} is not a reporting period of {contract.reference}"])
    layout = services.layout_for(contract, period)
    if candidate.content is not None:
        try:
            entries = read_upload(candidate.name, candidate.content, layout,
                                  current_app.config["PAM_MAX_UPLOAD_BYTES"])  # fmt: skip
        except FileRefused as refused:
            raise _Refused([str(refused)]) from None
        source, upload = _source(candidate.name), (candidate.name, candidate.content)
    else:
        entries, source, upload = candidate.entries, ReturnSource.COMMAND_LINE, None
        items = {item.key for item in layout.items}
        unknown = [key for key in entries.raw if key not in items]
        if unknown:  # a template cannot hold them; a typed key can be wrong
            raise _Refused([f"{key} is not an item of this return" for key in unknown])
    provider_return = services.return_for(submitter, contract, period)
    try:
        services.submit_return(submitter, provider_return, entries, signed_off_by=signed_off_by,
                               source=source, upload=upload, layout=layout)  # fmt: skip
        if accepted_by is not None:
            services.review_return(accepted_by, provider_return, "accepted", IMPORTED)
    except services.ReturnRefused as refused:
        raise _Refused([str(problem) for problem in refused.problems]) from None
    except services.ExplanationsNeeded as needed:
        raise _Refused([f"{item.label}: a large change on the previous period needs an "
                        "explanation" for item in needed.items]) from None  # fmt: skip
    except BusinessRuleError as refused:
        raise _Refused([refused.message]) from None


def _contract_and_period(candidate: Candidate) -> tuple[Contract, Period]:
    if candidate.entries is not None and candidate.entries.problems and not candidate.reference:
        raise _Refused([str(problem) for problem in candidate.entries.problems])
    if not candidate.reference or not candidate.period:
        raise _Refused(["It does not say which contract and period it is for: use the template"])
    contract = db.session.scalar(
        select(Contract).where(func.upper(Contract.reference) == candidate.reference.upper())
    )
    if contract is None:
        raise _Refused([f"No contract has the reference {candidate.reference}"])
    try:
        period = Period.parse(candidate.period)
    except ValueError as error:
        raise _Refused([str(error)]) from None
    return contract, period


def _source(name: str) -> ReturnSource:
    return ReturnSource.CSV if name.lower().endswith(".csv") else ReturnSource.SPREADSHEET


def can_accept(user: Any) -> bool:
    return can(user, Permission.REVIEW_RETURNS)
