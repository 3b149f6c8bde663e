"""Every model, imported in one place so that Alembic and the tests see the whole schema.

Importing the audit guard here registers its commit check wherever PAM's models are in
use (the app, the CLI, the tests), not only where a test happens to import it.
"""

from pam.api.models import ApiToken  # noqa: F401
from pam.audit import guard  # noqa: F401  (registers the unaudited-change check)
from pam.audit.models import AuditChainHead, AuditEvent  # noqa: F401
from pam.auth.models import LoginFailure, PasswordLink, RecoveryCode, User  # noqa: F401
from pam.contracts.models import (  # noqa: F401
    ComplianceItem,
    Contract,
    ContractDocument,
    PaymentScheduleEntry,
    Variation,
)
from pam.dashboards.models import StoredPattern  # noqa: F401
from pam.decisions.models import (  # noqa: F401
    BudgetLine,
    ClosedYear,
    DecisionAmount,
    DecisionNote,
    FundingDecision,
)
from pam.evaluations.models import EvaluationReport  # noqa: F401
from pam.exports.models import KeptExport  # noqa: F401
from pam.files.models import StoredFile  # noqa: F401
from pam.market.models import (  # noqa: F401  # noqa: F401
    Bid,
    BidDocument,
    Clarification,
    Consultation,
    Criterion,
    Evaluator,
    MarketAssessment,
    ModeratedScore,
    PublishedAssessment,
    Score,
    Tender,
)
from pam.outcomes.models import (  # noqa: F401
    ContractRating,
    Escalation,
    EscalationAction,
    FrameworkMeasure,
    Metric,
    MetricVersion,
    OutcomeFramework,
    Target,
)
from pam.programmes.models import (  # noqa: F401  # noqa: F401
    Milestone,
    Objective,
    PanelCase,
    PanelSession,
    Pilot,
    PilotSite,
    PlanAction,
    ProgressUpdate,
    Risk,
    RiskReview,
)
from pam.providers.models import Area, Contact, Organisation, ServiceCategory  # noqa: F401
from pam.returns import revisions  # noqa: F401  (its triggers follow create_all)
from pam.returns.models import (  # noqa: F401
    FactRevision,
    ProviderReturn,
    ReturnFact,
    ReturnFigure,
    ReturnReview,
    ReturnVersion,
    StateRevision,
)
