"""The declared permission policy: who may do what, in one table for every area.

Two layers, both here:

- ``TAVOLO_ROLES``: the tavolo's own actions (view, contribute, facilitate) and the tavolo roles
  allowed each; ``workspace.tavoli.permissions`` answers from it, and so every area that asks
  "may this person contribute at this tavolo?".
- ``HTTP`` (one row per endpoint of the URL map) and ``EVENTS`` (one row per Socket.IO event):
  the *audience* of each. An audience names who gets past the permission checks, in the words of
  the nine probe roles of ``tests/security/test_policy.py`` (anonymous, observer, delegate of
  another organisation, member of another tavolo of the procedure, member of a tavolo of another
  procedure, delegate, Comune, facilitator, administrator of the Ufficio di Piano). A live operation is refused right after its schema and login checks
  (before the duplicate check of an ``op_id``) unless the person has the event's tavolo action
  (``event_action``; an event with no row is refused); an HTTP request to a route whose audience
  has a door (``DOORS``: contribute, facilitate) is refused before its view reads the form. The
  services then apply their finer rules (the author, the electorate, attendance), and repeat these.

``tests/security/test_policy.py`` and ``test_policy_events.py`` enumerate every route of the URL
map (GET, and POST with an empty form) and every event, try each with each role and fail on any
difference from these rows — and on a route or event that has no row.

Adding an area (e.g. ``workspace/planning``): add one line per endpoint to ``HTTP`` and one per
event to ``EVENTS``, choosing the audience from ``AUDIENCES`` (add a new audience only when none
fits, with its roles). The test's failure message prints the exact lines missing, with the
audience it observed, ready to paste after checking them.
"""
from __future__ import annotations

#: The nine roles every route and event is tried with (relative to one tavolo and to a bisogno
#: and an annotation proposed there by the delegate of an ETS).
ROLES: tuple[str, ...] = ("anonymous", "observer", "other_org", "other_tavolo", "other_procedure", "delegate",
                          "comune", "facilitator", "admin")

#: The tavolo's actions and the tavolo roles allowed each (an administrator of the Ufficio di Piano
#: acts as facilitator everywhere).
TAVOLO_ROLES: dict[str, frozenset[str]] = {
    "view": frozenset({"facilitator", "delegate", "observer"}),
    "contribute": frozenset({"facilitator", "delegate"}),
    "facilitate": frozenset({"facilitator"}),
}

_ALL = frozenset(ROLES)
_PEOPLE = _ALL - {"anonymous"}
_TAVOLO = frozenset({"observer", "other_org", "delegate", "comune", "facilitator", "admin"})
_CONTRIBUTORS = _TAVOLO - {"observer"}

#: audience -> the probe roles that get past the permission checks.
AUDIENCES: dict[str, frozenset[str]] = {
    # Anyone, logged in or not (public pages, the login form, published procedures).
    "public": _ALL,
    # Anyone logged in (own profile, own data, the list of one's tavoli).
    "login": _PEOPLE,
    # The tavolo's people: any role there, and the administrators.
    "tavolo": _TAVOLO,
    # Who contributes at the tavolo: facilitators and delegates (not observers).
    "contribute": _CONTRIBUTORS,
    # The author of the object, the author's organisation, or a facilitator.
    "author": frozenset({"delegate", "facilitator", "admin"}),
    # Who took part in the seduta (remarks on its verbale): in the probe's seduta the observer and
    # the two delegates of ETS; the facilitator who led it files no remarks on it.
    "attendee": frozenset({"observer", "other_org", "delegate"}),
    # The round's electorate: delegates of the member organisations.
    "electorate": frozenset({"other_org", "delegate", "comune"}),
    # The tavolo's facilitators, and the administrators.
    "facilitate": frozenset({"facilitator", "admin"}),
    # Administrators of the Ufficio di Piano only (with the procedure's RUP where the area says so:
    # in the probe the RUP is the administrator).
    "admin": frozenset({"admin"}),
    # The procedure's people: anyone with a role at one of its tavoli (any tavolo, any role), and the
    # Ufficio di Piano; not who sits only at the tavoli of another procedure.
    "procedure": _PEOPLE - {"other_procedure"},
    # The tavolo's members by role (not the administrators, who hold no role there): personal
    # settings such as the digest e-mail.
    "member": frozenset({"observer", "other_org", "delegate", "comune", "facilitator"}),
    # Whoever approves the verbali under the procedure's rules (by default the facilitators; the
    # RUP when the procedure says so).
    "approver": frozenset({"facilitator", "admin"}),
    # The single-use link in the URL is the permission: an unknown link is 404 for everybody.
    "token": frozenset(),
    # Public once published; the probe's object is not (a draft verbale): 404 for everybody.
    "unpublished": frozenset(),
    # Probed with an object that does not exist (no remark, application or file in the probe's
    # world): everybody is refused, 403 before 404 for who may not see the tavolo or the page.
    "unknown_object": frozenset(),
}

#: The tavolo action checked for a logged-in person *before the view runs*, when the URL names a
#: tavolo (``tavolo_id``): only where the audience's rule is unconditional. Finer rules (author,
#: electorate, attendance, the procedure's approver, the RUP reading verbali) stay in the services,
#: which also repeat these checks.
DOORS: dict[str, str] = {
    "contribute": "contribute",
    "facilitate": "facilitate",
}

#: The tavolo action the live channel checks for each audience of an event.
_EVENT_ACTION: dict[str, str] = {
    "login": "",
    "tavolo": "view",
    "author": "view",
    "attendee": "view",
    "electorate": "view",
    "contribute": "contribute",
    "facilitate": "facilitate",
}

#: Every Socket.IO event of ``/live`` and its audience.
EVENTS: dict[str, str] = {
    "connect": "login",
    "disconnect": "login",
    "join": "tavolo",
    "resync": "tavolo",
    "page": "tavolo",  # the rest of a bounded first-join snapshot
    "leave": "login",  # leaving a room one is not in changes nothing
    # tavoli (the facilitator's console)
    "seduta.start": "facilitate",
    "seduta.close": "facilitate",
    "agenda.move": "facilitate",
    "timer.set": "facilitate",
    "presence.mark": "facilitate",
    # needs
    "bisogno.create": "contribute",
    "bisogno.update": "author",
    "bisogno.status": "author",  # withdrawing: the author; any other status: a facilitator
    "bisogno.merge": "facilitate",
    "spotlight.set": "facilitate",
    "annotation.create": "contribute",
    "annotation.delete": "author",
    "annotation.support": "contribute",
    # voting
    "vote.open": "facilitate",
    "vote.close": "facilitate",
    "vote.tie_break": "facilitate",
    "vote.declare_interest": "tavolo",
    "vote.cast": "electorate",
    "vote.status": "tavolo",
}

#: Every endpoint of the URL map and its audience (for its GET, and its POST when it has one:
#: ``"get/post"`` when they differ).
HTTP: dict[str, str] = {
    # core, reference, privacy
    "static": "public",
    "core.home": "public",
    "core.accessibility": "public",
    "core.set_language": "public",
    "reference.ambiti": "public",
    "reference.leps": "public",
    "reference.macroaree": "public",
    "reference.macroarea": "public",
    "privacy.notice": "public/login",
    "privacy.export": "login",
    "privacy.delete_account": "login",
    "privacy.security_txt": "public",
    "privacy.legacy_security_txt": "public",
    # accounts
    "accounts.login": "public",
    "accounts.logout": "public",
    "accounts.logout_everywhere": "login",
    "accounts.forgot_password": "public",
    "accounts.request_login_link": "public",
    "accounts.reset_password": "token",
    "accounts.login_link": "token",
    "accounts.invitation": "token",
    "accounts.profile": "login",
    "accounts.organisations": "admin",
    "accounts.organisation": "admin",
    # audit
    "audit.trail": "admin",
    "audit.export": "admin",
    # api
    "api.openapi": "public",
    "api.riferimenti_ambiti": "public",
    "api.riferimenti_leps": "public",
    "api.riferimenti_macroaree": "public",
    # Open data once the procedure is published (the probe's is): bisogni, closed rounds.
    "api.tavolo_bisogni": "public",
    "api.tavolo_bisogno": "public",
    "api.votazione_risultati": "public",
    "api.votazione_schede": "public",
    "api.procedure_verbali": "public",
    "api.verbale": "unpublished",
    # procedures
    "procedures.public_index": "public",
    "procedures.public": "public",
    "procedures.public_avviso": "public",
    "procedures.public_act_file": "public",
    "procedures.public_csv": "public",
    "procedures.public_application": "public",
    "procedures.public_receipt": "unknown_object",
    "procedures.invitation": "token",
    "procedures.setup": "admin",
    "procedures.admin_index": "admin",
    "procedures.admin_procedure": "admin",
    "procedures.admin_avviso": "admin",
    "procedures.admin_act": "admin",
    "procedures.admin_act_file": "admin",
    "procedures.admin_applications": "admin",
    "procedures.admin_application": "unknown_object",
    "procedures.admin_proxy_file": "unknown_object",
    # Its POST names the publication to change: an empty form names none (404).
    "procedures.admin_publications": "admin/unknown_object",
    "procedures.admin_transition": "admin",
    # tavoli
    "tavoli.index": "login",
    "tavoli.home": "tavolo",
    "tavoli.participant": "tavolo",
    "tavoli.bigscreen": "tavolo",
    "tavoli.presences": "tavolo",
    "tavoli.console": "facilitate",
    "tavoli.new_seduta": "facilitate",
    "tavoli.members": "admin",
    "tavoli.add_member": "admin",
    "tavoli.remove_member": "admin",
    "tavoli.set_role": "admin",
    "tavoli.remove_role": "admin",
    "tavoli.new_tavolo": "admin",
    # needs
    "needs.bisogni": "tavolo",
    "needs.bisogno": "tavolo",
    "needs.storia": "tavolo",
    "needs.novita": "tavolo",
    "needs.nuovo": "contribute",
    "needs.modifica": "author",
    "needs.annota": "contribute",
    "needs.sostieni": "contribute",
    "needs.elimina": "author",
    # Withdrawing is the author's, any other status a facilitator's: decided with the status chosen.
    "needs.stato": "contribute",
    "needs.accorpa": "facilitate",
    "needs.digest_toggle": "member",
    # voting
    "voting.index": "tavolo",
    "voting.live_state": "tavolo",
    "voting.ballot": "tavolo",
    # A closed round of a published procedure is public (organisations only, no names).
    "voting.results": "public",
    "voting.new_round": "facilitate",
    "voting.edit_round": "facilitate",
    "voting.open_round": "facilitate",
    "voting.close_round": "facilitate",
    "voting.tie_break": "facilitate",
    "voting.declare_interest": "tavolo",
    # Who may vote is the round's electorate, checked with the ballot and refused with its own
    # message (tests/voting/test_views.py); the probe's empty form is refused for its content first.
    "voting.cast": "tavolo",
    # minutes (verbali)
    "minutes.document_css": "public",
    "minutes.public_index": "public",
    "minutes.public_verbale": "unpublished",
    "minutes.public_pdf": "unpublished",
    "minutes.tavolo_verbali": "tavolo",
    "minutes.verbale": "tavolo",
    "minutes.seduta_verbale": "tavolo",
    "minutes.history_page": "tavolo",
    "minutes.download": "tavolo",
    "minutes.register": "tavolo",
    "minutes.section": "facilitate",
    "minutes.generate": "facilitate",
    "minutes.regenerate": "facilitate",
    "minutes.send_review": "facilitate",
    "minutes.remark": "attendee",
    "minutes.decide": "unknown_object",
    "minutes.approve": "approver",
    "minutes.errata": "approver",
    "minutes.settings": "admin",
    # esiti of the previous programming: the Ufficio di Piano (RUP or administrator) enters them;
    # the procedure's tavoli read them; the public once the procedure is published (the probe's is).
    "esiti.admin": "admin",
    "esiti.new": "admin",
    "esiti.edit": "admin",
    "esiti.delete": "admin",
    "esiti.import_file": "admin",
    "esiti.template": "admin",
    "esiti.members": "procedure",
    "esiti.download": "procedure",
    "esiti.public": "public",
    "esiti.public_download": "public",
    "api.procedure_esiti": "public",
    # planning (priorities, dispositions, schede obiettivo): the Ufficio di Piano (RUP or
    # administrator) disposes, writes the cards and publishes; the procedure's page lists what each
    # person may read; a tavolo's priorities and cards are its people's; the public reads them once
    # published (the probe's planning is, with a card "pronta").
    "planning.procedure_page": "procedure",
    "planning.publish": "admin",
    "planning.priorities": "tavolo",
    "planning.dispose": "admin",
    "planning.create": "admin",
    "planning.scheda": "tavolo",
    "planning.edit": "admin",
    "planning.save": "admin",
    "planning.set_status": "admin",
    "planning.bisogno_cards": "tavolo",
    # Probed with ?tavolo= (one's own tavolo); the whole procedure (no tavolo) is the Ufficio's.
    "planning.download": "tavolo",
    "planning.public_page": "public",
    "planning.public_download": "public",
    "api.procedure_priorita": "public",
    "api.procedure_schede": "public",
    "api.scheda_obiettivo": "public",
    "api.bisogno_schede": "public",
    # sintesi: the RUP (or an administrator) generates, writes, sends for review and approves the
    # documento di sintesi; the procedure's tavoli read it once in review (the probe's is: a draft
    # is the RUP's only); the public gets its PDF once approved (the probe's is not).
    "sintesi.page": "procedure",
    "sintesi.download": "procedure",
    "sintesi.generate": "admin",
    "sintesi.regenerate": "admin",
    "sintesi.introduction": "admin",
    "sintesi.send_review": "admin",
    "sintesi.approve": "admin",
    "sintesi.public_pdf": "unpublished",
}


#: ``check(session, user, action, tavolo_id)``: raises a Problem (404 unknown tavolo, 403 with its
#: message) unless the person may do the tavolo action; given by ``init_app``.
_DOOR_CHECK = "tavoli_policy_door"


def door(endpoint: str | None, method: str) -> str | None:
    """The tavolo action checked before the view for ``endpoint`` and ``method``, if any."""
    row = HTTP.get(endpoint or "")
    if row is None:
        return None
    get, post = audiences_of(row)
    return DOORS.get(get if method in ("GET", "HEAD", "OPTIONS") else post)


def init_app(app, check) -> None:
    """Check the door of every request (see ``DOORS``): a logged-in person without the tavolo
    action is refused before the view reads the form, so a refused role never gets a validation
    message (or a success) instead of its refusal. Anonymous requests reach the views, which send
    them to the login page."""
    from flask import request
    from flask_login import current_user

    from workspace.db import db

    app.extensions[_DOOR_CHECK] = check

    @app.before_request
    def _door() -> None:
        action = door(request.endpoint, request.method)
        tavolo_id = (request.view_args or {}).get("tavolo_id")
        if action is None or not isinstance(tavolo_id, int) or not current_user.is_authenticated:
            return
        check(db.session, current_user._get_current_object(), action, tavolo_id)


def event_action(event: str) -> str | None:
    """The tavolo action (view / contribute / facilitate) a person needs before the event is
    considered at all; None when the event has no row (refused: the policy test names it)."""
    audience = EVENTS.get(event)
    if audience is None:
        return None
    return _EVENT_ACTION.get(audience, "view")


def allowed(audience: str) -> frozenset[str]:
    """The probe roles an audience lets through."""
    return AUDIENCES[audience]


def audiences_of(row: str) -> tuple[str, str]:
    """(GET audience, POST audience) of an HTTP row (``"tavolo/facilitate"`` or ``"tavolo"``)."""
    get, _slash, post = row.partition("/")
    return get, post or get
