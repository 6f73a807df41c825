"""The verbali and a person's data: their remarks and versions in the personal-data export; on
account deletion the copies of their name in drafts, remarks and versions are rewritten, while an
approved verbale — the official record, frozen and fingerprinted — stays as approved."""
from __future__ import annotations

import json

from tests.minutes.support import approved, get, scripted_seduta, to_review, write
from workspace.minutes import content as contents
from workspace.minutes import review
from workspace.minutes.models import Verbale, VerbaleVersion
from workspace.privacy import service as privacy
from workspace.tavoli import service as tavoli


def test_the_export_lists_remarks_and_versions(session):
    s = scripted_seduta(session)
    write(session, s, "apertura", "Testo.")
    verbale = to_review(session, s)
    review.file_remark(session, s.delegate, verbale, None, "La mia osservazione.")
    session.commit()
    delia = privacy.export_personal_data(session, s.delegate)
    assert [r["text"] for r in delia["verbale_remarks"]] == ["La mia osservazione."]
    fabio = privacy.export_personal_data(session, s.facilitator)
    assert [v["change"] for v in fabio["verbale_versions"]] == ["generato", "testo"]


def test_deletion_rewrites_drafts_but_not_an_approved_verbale(session):
    s = scripted_seduta(session)
    frozen = approved(session, s)  # Delia's remark is in its annex
    digest, frozen_content = frozen.content_sha256, json.dumps(frozen.content, sort_keys=True)
    # A second seduta, whose draft names Delia too (she was present), with her remark under review.
    seduta = tavoli.create_seduta(session, s.facilitator, s.tavolo, s.seduta.starts_at, "Sala", "presenza", ["Uno"])
    tavoli.start_seduta(session, s.facilitator, seduta)
    tavoli.mark_presence(session, s.facilitator, seduta, s.delegate.id, True)
    tavoli.close_seduta(session, s.facilitator, seduta)
    session.commit()
    draft = session.query(Verbale).filter_by(seduta_id=seduta.id).one()
    review.send_for_review(session, s.facilitator, draft)
    review.file_remark(session, s.delegate, draft, None, "Firmato: Delia Delegata.")
    session.commit()
    assert "Delia Delegata" in json.dumps(draft.generated)

    report = privacy.pseudonymise_user(session, s.delegate)
    session.commit()
    session.expire_all()
    draft = session.get(Verbale, draft.id)
    assert "Delia Delegata" not in json.dumps(draft.generated, ensure_ascii=False)
    assert all("Delia Delegata" not in r.author_name and "Delia Delegata" not in r.text for r in draft.remarks)
    assert report.details.get("workspace.minutes.privacy", 0) >= 2
    frozen = get(session, s)
    assert frozen.content_sha256 == digest == contents.sha256(frozen.content)
    assert json.dumps(frozen.content, sort_keys=True) == frozen_content
    assert frozen.remarks[0].author_name == "Delia Delegata"  # the approved annex's copy stays
    assert session.query(VerbaleVersion).filter_by(verbale_id=draft.id).count() >= 1
