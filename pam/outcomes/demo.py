"""Demo outcome frameworks: each demo contract gets the measures its service would carry.

Targets scale with the contract's annual value, so bigger services promise more. Small
contracts (under £25,000 a year) are on proportionate reporting, with a shorter set.
Idempotent: a contract that already has measures is left alone.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from pam.contracts.models import Contract
from pam.core.periods import FinancialYear, Period
from pam.extensions import db
from pam.outcomes import services
from pam.outcomes.dictionary import seed_dictionary
from pam.outcomes.models import Metric

# Per service: (metric code, target) where the target is either a fixed figure (rates,
# days) or, for counts, a number per £10,000 of annual value each quarter.
MEASURES = {
    "RJ-ADULT": [("RJ01", "per10k", 5), ("RJ02", "per10k", 3), ("RJ04", "per10k", 1),
                 ("RJ05", "per10k", 1), ("RJ07", "per10k", 1.5), ("RJ08", "fixed", 85),
                 ("RJ09", "fixed", 80), ("RJ10", "fixed", 5)],
    "RJ-YOUTH": [("RJ01", "per10k", 6), ("RJ07", "per10k", 3), ("YJ01", "fixed", 90),
                 ("YJ02", "fixed", 80)],
    "NJP": [("NJ01", "per10k", 4), ("NJ02", "fixed", 85), ("RJ08", "fixed", 85)],
    "MEDIATION": [("RJ01", "per10k", 6), ("RJ07", "per10k", 2.5), ("RJ08", "fixed", 80)],
    "VICTIMS": [("VS01", "per10k", 10), ("VS02", "per10k", 8), ("VS03", "fixed", 75),
                ("RJ08", "fixed", 85)],
    "ISVA": [("VS01", "per10k", 3), ("VS02", "per10k", 2.5), ("VS03", "fixed", 75)],
    "DA": [("VS01", "per10k", 4), ("VS02", "per10k", 3), ("VS03", "fixed", 70)],
}  # fmt: skip
PROPORTIONATE_BELOW = Decimal("25000")


def _target(kind: str, figure: float, annual_value: Decimal) -> Decimal:
    if kind == "fixed":
        return Decimal(str(figure))
    return max(Decimal(1), (annual_value / 10000 * Decimal(str(figure))).quantize(Decimal(1)))


def load_frameworks(actor) -> int:
    """Seed the dictionary, then give each demo contract without measures its framework."""
    added = seed_dictionary(actor)
    db.session.flush()
    metrics = {metric.code: metric for metric in db.session.scalars(select(Metric))}
    for contract in db.session.scalars(select(Contract).order_by(Contract.id)):
        if contract.framework is not None and contract.framework.measures:
            continue
        plan = MEASURES.get(contract.service_category.code)
        if not plan:
            continue
        framework = services.framework_for(actor, contract)
        proportionate = contract.annual_value < PROPORTIONATE_BELOW
        if proportionate:
            services.update_framework(
                actor,
                framework,
                {"frequency": "quarterly", "rag_tolerance_percent": 15, "due_days": 20,
                 "due_in_working_days": True, "is_proportionate": True},
            )  # fmt: skip
            plan = plan[:2]
        first = Period(FinancialYear.containing(contract.start_on), "Q1")
        for code, kind, figure in plan:
            services.add_measure(
                actor,
                framework,
                metrics[code],
                _target(kind, figure, contract.annual_value),
                first,
            )
        added += 1
    return added
