"""What the verbali tell the privacy area about a person, through the named signals.

- ``personal_data_requested``: the remarks the person filed and the versions they wrote;
- ``person_pseudonymised``: the copies of the name in drafts (generated part, narrative), in the
  remarks of verbali not yet approved and in the versions' authors are rewritten. An approved
  verbale is not: it is the official record of the seduta, frozen and fingerprinted, kept for the
  administration's legal obligations (art. 17(3)(b) GDPR) — its name copies stay as approved.

Connected in ``workspace.minutes.register``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.minutes.models import Verbale, VerbaleRemark, VerbaleVersion

if TYPE_CHECKING:
    from workspace.privacy.service import Scrubber


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    remarks = session.scalars(select(VerbaleRemark).where(VerbaleRemark.author_id == user.id)
                              .order_by(VerbaleRemark.id))
    versions = session.scalars(select(VerbaleVersion).where(VerbaleVersion.author_id == user.id)
                               .order_by(VerbaleVersion.id))
    return {
        "verbale_remarks": [{"verbale_id": r.verbale_id, "section": r.section, "text": r.text,
                             "filed_at": _iso(r.filed_at), "status": r.status, "reason": r.reason,
                             "decided_at": _iso(r.decided_at)} for r in remarks],
        "verbale_versions": [{"verbale_id": v.verbale_id, "number": v.number, "change": v.change,
                              "section": v.section, "at": _iso(v.at)} for v in versions],
    }


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    changed = 0
    for version in session.scalars(select(VerbaleVersion).where(VerbaleVersion.author_id == user.id)):
        if version.author_name != scrubber.replacement:
            version.author_name = scrubber.replacement
            changed += 1
    drafts = list(session.scalars(select(Verbale).where(Verbale.status != "approvato")))
    for verbale in drafts:
        generated = scrubber.json(verbale.generated or {})
        narrative = {k: scrubber.text(v) for k, v in (verbale.narrative or {}).items()}
        if generated != verbale.generated or narrative != verbale.narrative:
            verbale.generated, verbale.narrative = generated, narrative
            changed += 1
        for remark in verbale.remarks:
            if remark.author_id == user.id and remark.author_name != scrubber.replacement:
                remark.author_name = scrubber.replacement
                changed += 1
            if remark.decided_by_id == user.id and remark.decided_by_name != scrubber.replacement:
                remark.decided_by_name = scrubber.replacement
                changed += 1
            new_text = scrubber.text(remark.text)
            if new_text != remark.text:
                remark.text = new_text
                changed += 1
    # Versions keep the generated part of each generation and the text of each save: drafts only.
    for version in session.scalars(select(VerbaleVersion).join(Verbale).where(Verbale.status != "approvato")):
        text = scrubber.text(version.text) if version.text else version.text
        generated = scrubber.json(version.generated) if version.generated else version.generated
        if text != version.text or generated != version.generated:
            version.text, version.generated = text, generated
            changed += 1
    return changed
