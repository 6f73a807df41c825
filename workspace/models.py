"""Imports every module's models so ``Base.metadata`` is complete (Alembic, tests, create_all)."""
from workspace import record  # noqa: F401
from workspace.accounts import models as accounts_models  # noqa: F401
from workspace.audit import models as audit_models  # noqa: F401
from workspace.db import Base
from workspace.esiti import models as esiti_models  # noqa: F401
from workspace.minutes import models as minutes_models  # noqa: F401
from workspace.needs import models as needs_models  # noqa: F401
from workspace.planning import models as planning_models  # noqa: F401
from workspace.procedures import models as procedures_models  # noqa: F401
from workspace.reference import models as reference_models  # noqa: F401
from workspace.sintesi import models as sintesi_models  # noqa: F401
from workspace.tavoli import models as tavoli_models  # noqa: F401
from workspace.voting import models as voting_models  # noqa: F401
from workspace.web import SubmissionKey  # noqa: F401

metadata = Base.metadata
