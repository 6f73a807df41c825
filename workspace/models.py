"""Imports every module's models so ``Base.metadata`` is complete (Alembic, tests, create_all)."""
from workspace.accounts import models as accounts_models  # noqa: F401
from workspace.db import Base
from workspace.reference import models as reference_models  # noqa: F401

metadata = Base.metadata
