"""The audit suites log people in many times: cheap argon2, as in the accounts suites."""
from tests.accounts.conftest import cheap_password_hashing  # noqa: F401  (an autouse fixture)
