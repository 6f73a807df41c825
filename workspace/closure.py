"""The few writes a concluded procedure still allows, named in one place.

Once a procedure is "conclusa" (its documento di sintesi approved) nothing in it may change: the
guard is ``workspace.procedures.closure``, a check on every flush of every session. Two kinds of
write are not changes of the procedure's content and pass it:

* bookkeeping columns a model lists in ``__closure_bookkeeping__`` (e.g. when a member last visited
  a tavolo): reading a concluded procedure must keep working;
* the legal duties run under ``exempt(session)``: the pseudonymisation of a deleted account and the
  retention purge (``workspace.privacy``). Frozen documents (approved verbali, the approved documento
  di sintesi) keep their copies in any case (art. 17(3)(b) GDPR), as their own areas decide.

This module knows no domain model, so every area may use it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

_EXEMPT = "tavoli.closure_exempt"


@contextmanager
def exempt(session: Session) -> Iterator[None]:
    """Writes inside this block pass the closure guard (legal duties only: see the module)."""
    session.info[_EXEMPT] = session.info.get(_EXEMPT, 0) + 1
    try:
        yield
    finally:
        session.info[_EXEMPT] -= 1


def is_exempt(session: Session) -> bool:
    return bool(session.info.get(_EXEMPT))
