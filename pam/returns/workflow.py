"""Submitting a return from any channel: submit it, or keep what was sent as a draft.

This is the one place, shared by the web pages and the command line, that owns the
transaction for a submission: a refused return is rolled back entirely (no partial
return is ever stored) and then, in a transaction of its own, what the provider sent is
kept as the draft with its problems, so nothing they typed is lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pam.contracts.models import Contract
from pam.core.periods import Period
from pam.extensions import db
from pam.returns import services
from pam.returns.imports import Entries
from pam.returns.layout import Layout, Problem, plain
from pam.returns.models import ReturnSource, ReturnVersion

CONCURRENT = (
    "This return was submitted by someone else a moment ago. Nothing was lost: your "
    "entries are kept as a draft."
)


def attempt_submission(
    actor: Any,
    contract: Contract,
    period: Period,
    entries: Entries,
    *,
    signed_off_by: str,
    source: ReturnSource,
    upload: tuple[str, bytes] | None = None,
    correction_reason: str = "",
    layout: Layout | None = None,
) -> tuple[ReturnVersion | None, list[Problem]]:
    """(the new version, []) when submitted; (None, problems) when kept as a draft.

    A BusinessRuleError about the submission itself (no sign-off, awaiting review) is
    raised after rolling back, for the caller to show on its form.
    """
    try:
        provider_return = services.return_for(actor, contract, period)
        version = services.submit_return(
            actor,
            provider_return,
            entries,
            signed_off_by=signed_off_by,
            source=source,
            upload=upload,
            correction_reason=correction_reason,
            layout=layout,
        )
        db.session.commit()
        return version, []
    except services.ReturnRefused as refused:
        problems = refused.problems
    except services.ExplanationsNeeded as needed:
        problems = [
            Problem(
                item.key,
                f"{item.label}: this is a large change on the previous period "
                f"({plain(item.previous)}): add a one-line explanation",
            )
            for item in needed.items
        ]
    except (StaleDataError, IntegrityError):
        problems = [Problem(None, CONCURRENT)]
    except Exception:
        db.session.rollback()
        raise
    db.session.rollback()
    provider_return = services.return_for(actor, contract, period)
    services.save_draft(actor, provider_return, entries, problems)
    db.session.commit()
    return None, problems
