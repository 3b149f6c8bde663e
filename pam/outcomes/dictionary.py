"""The seed of the shared metric dictionary: restorative justice and victims' services.

Definitions follow DOMAIN.md and the Ministry of Justice victims' services return, so that
every provider counts the same things the same way. `seed_dictionary()` adds any metric
whose code is missing; it never changes an existing one (a change is a new version, made
by an officer with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from pam.extensions import db
from pam.outcomes.models import Metric, MetricVersion

# The dictionary's first versions apply from the start of 2023/24, before any demo contract.
SEED_VALID_FROM = date(2023, 4, 1)
MOJ = "MoJ victims' services return"


@dataclass(frozen=True)
class SeedMetric:
    code: str
    name: str
    definition: str
    counting_rule: str
    unit: str = "count"
    direction: str = "higher"
    aggregation: str = "sum"
    numerator: str = ""
    denominator: str = ""
    breakdowns: tuple[str, ...] = ()
    funder_mappings: tuple[str, ...] = field(default_factory=tuple)

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "definition": self.definition,
            "counting_rule": self.counting_rule,
            "unit": self.unit,
            "direction": self.direction,
            "aggregation": self.aggregation,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "breakdowns": list(self.breakdowns),
            "funder_mappings": list(self.funder_mappings),
            "valid_from": SEED_VALID_FROM,
            "change_note": "First version, from the PAM seed dictionary",
        }


SEED = [
    SeedMetric(
        "RJ01",
        "Referrals received",
        "Referrals for a restorative process received by the service in the period.",
        "Count each referral once, on the date it was received, whoever the referrer. A "
        "re-referral of the same case after closure counts again. Enquiries that do not "
        "become a referral do not count.",
        breakdowns=("referral_source",),
        funder_mappings=(f"{MOJ}: referrals received",),
    ),
    SeedMetric(
        "RJ02",
        "Referrals assessed as suitable",
        "Referrals whose risk and suitability assessment concluded a restorative process "
        "could go ahead.",
        "Count on the date the assessment was completed. Cases found unsuitable, or where a "
        "party declined before assessment, do not count.",
    ),
    SeedMetric(
        "RJ03",
        "Victims contacted",
        "Victims the service spoke to about taking part in a restorative process.",
        "Count each victim once per case, on the date of first two-way contact (a letter "
        "with no reply does not count).",
        funder_mappings=(f"{MOJ}: victims contacted",),
    ),
    SeedMetric(
        "RJ04",
        "Victims taking part in a direct process",
        "Victims who took part in a face-to-face restorative meeting or conference.",
        "Count each victim once per case, on the date of the meeting.",
    ),
    SeedMetric(
        "RJ05",
        "Victims taking part in an indirect process",
        "Victims who took part through shuttle mediation or letters of explanation or apology.",
        "Count each victim once per case, on the date the indirect process concluded.",
    ),
    SeedMetric(
        "RJ06",
        "Offenders taking part",
        "People responsible for harm who took part in a direct or indirect process.",
        "Count each person once per case, on the date of their first restorative session.",
    ),
    SeedMetric(
        "RJ07",
        "Restorative processes completed",
        "Cases where the restorative process reached its planned conclusion.",
        "Count on the date of closure, only where the case closed with the process completed "
        "(not withdrawn or stopped for risk).",
        breakdowns=("process_type",),
    ),
    SeedMetric(
        "RJ08",
        "Victim satisfaction",
        "Victims satisfied with the restorative service.",
        "From exit questionnaires completed in the period; victims who did not answer do "
        "not count in either number.",
        unit="percentage",
        aggregation="average",
        numerator="Victims answering satisfied or very satisfied",
        denominator="Victims who answered the satisfaction question",
    ),
    SeedMetric(
        "RJ09",
        "Victims better able to cope and recover",
        "Victims reporting they feel better able to cope and recover after the service.",
        "From exit questionnaires completed in the period, using the MoJ cope-and-recover "
        "question.",
        unit="percentage",
        aggregation="average",
        numerator="Victims reporting they are better able to cope and recover",
        denominator="Victims who answered the cope-and-recover question",
        funder_mappings=(f"{MOJ}: cope and recover outcomes",),
    ),
    SeedMetric(
        "RJ10",
        "Days from referral to first contact",
        "How quickly the service makes first contact after a referral.",
        "The average, in calendar days, over referrals first contacted in the period.",
        unit="days",
        direction="lower",
        aggregation="average",
    ),
    SeedMetric(
        "RJ11",
        "Volunteer facilitators active",
        "Trained volunteer facilitators who worked on at least one case in the period.",
        "Count people, not sessions, at the end of the period.",
        aggregation="latest",
    ),
    SeedMetric(
        "RJ12",
        "Staff and volunteers trained",
        "Staff and volunteers completing accredited restorative practice training.",
        "Count each person once, on the date they completed the course.",
    ),
    SeedMetric(
        "YJ01",
        "Referral order panels held on time",
        "Initial referral order panels held within 20 working days of the order.",
        "Panels held in the period.",
        unit="percentage",
        aggregation="average",
        numerator="Initial panels held within 20 working days of the court order",
        denominator="Initial panels held",
    ),
    SeedMetric(
        "YJ02",
        "Children completing restorative interventions",
        "Children who completed the restorative intervention agreed in their plan.",
        "Interventions due to end in the period.",
        unit="percentage",
        aggregation="average",
        numerator="Children who completed their restorative intervention",
        denominator="Children whose intervention was due to end in the period",
    ),
    SeedMetric(
        "VS01",
        "Victims referred",
        "Victims referred to the service for support.",
        "Count each victim once per referral, on the date received, including self-referrals.",
        breakdowns=("referral_source", "crime_type"),
        funder_mappings=(f"{MOJ}: referrals received",),
    ),
    SeedMetric(
        "VS02",
        "Victims supported",
        "Victims who received support from the service in the period.",
        "Count each victim once in the period however many contacts they had; a victim who "
        "only received information does not count.",
        breakdowns=("crime_type",),
        funder_mappings=(f"{MOJ}: victims who received support",),
    ),
    SeedMetric(
        "VS03",
        "Victims with improved cope and recover outcomes",
        "Victims whose cope-and-recover measures improved between entry and exit.",
        "Cases closed in the period with both an entry and an exit assessment.",
        unit="percentage",
        aggregation="average",
        numerator="Victims with an improvement in at least one cope-and-recover area",
        denominator="Victims with entry and exit assessments",
        funder_mappings=(f"{MOJ}: cope and recover outcomes",),
    ),
    SeedMetric(
        "NJ01",
        "Cases brought to a Neighbourhood Justice Panel",
        "Cases heard by a panel in the period.",
        "Count each case once, on the date of its panel.",
        breakdowns=("crime_type",),
    ),
    SeedMetric(
        "NJ02",
        "Panel agreements completed",
        "Panel outcome agreements completed by the person responsible for harm.",
        "Agreements due to be completed in the period.",
        unit="percentage",
        aggregation="average",
        numerator="Agreements completed",
        denominator="Agreements due to be completed in the period",
    ),
]


def seed_dictionary(actor: Any) -> int:
    """Add the seed metrics whose codes are missing; returns how many were added."""
    from pam.outcomes import services

    existing = set(db.session.scalars(select(Metric.code)))
    added = 0
    for seed in SEED:
        if seed.code not in existing:
            services.create_metric(actor, seed.code, seed.fields())
            added += 1
    return added


def current_names() -> dict[str, str]:
    """{metric code: the name its latest version gives it}, in one statement (the
    dictionary is small: a few dozen measures, however many contracts report them)."""
    rows = db.session.execute(
        select(Metric.code, MetricVersion.name)
        .join(MetricVersion, MetricVersion.metric_id == Metric.id)
        .order_by(MetricVersion.number)
    ).all()
    return dict(rows)  # later versions overwrite earlier ones
