"""Named signals: how domain areas react to each other without importing each other.

Every signal is sent *inside* the transaction of the change that causes it (except where said),
so a receiver's writes commit or roll back with that change, and a receiver may refuse the whole
change by raising ``workspace.problems.Problem``. The sender is always the SQLAlchemy session.
Receivers are connected explicitly by each area's ``register(app)`` (see ``workspace.areas``),
never as a side effect of importing a module.

blinker is the signal library Flask itself uses; ``send`` returns ``[(receiver, value), ...]``,
which the "collect" signals below use to gather parts from every area.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# --- the live tavolo ------------------------------------------------------------------------------

#: A numbered event was appended to a tavolo's record. kwargs: ``event`` (record.TavoloEvent).
event_recorded = _signals.signal("event-recorded")

#: A seduta is being closed (after its ``seduta.closed`` event). kwargs: ``actor``, ``seduta``.
seduta_closed = _signals.signal("seduta-closed")

#: Collect: the parts of a tavolo's live snapshot. kwargs: ``tavolo_id``. Each receiver returns a dict.
#: Content parts: built once and shared while no event other than presence is recorded (see
#: ``realtime.shared_snapshot``); parts that change with every join go to ``tavolo_snapshot_fresh``.
tavolo_snapshot = _signals.signal("tavolo-snapshot")

#: Collect: the parts of a tavolo's live snapshot rebuilt for every join (the seduta, its quorum and,
#: with ``register``, its presences: each join in a live seduta changes them). kwargs: ``tavolo_id``,
#: ``register`` (the client shows the attendance register). Each receiver returns a dict.
tavolo_snapshot_fresh = _signals.signal("tavolo-snapshot-fresh")

#: A live client joined a tavolo's room and asked to be present. kwargs: ``user``, ``tavolo_id``, ``mode``.
tavolo_joined = _signals.signal("tavolo-joined")

#: Several live clients joined at once (a join storm's batch) and asked to be present, in one
#: transaction. kwargs: ``arrivals`` (objects with ``user``, ``tavolo_id``, ``mode`` and ``error``: a
#: receiver that refuses one sets its ``error`` to the Problem and records the others).
tavolo_joined_together = _signals.signal("tavolo-joined-together")

#: A live client left a tavolo's room (or disconnected). kwargs: ``user``, ``tavolo_id``.
tavolo_left = _signals.signal("tavolo-left")

#: Several live clients left at once (a disconnect storm's batch), in one transaction. kwargs:
#: ``departures`` (objects with ``user`` — at least its ``id`` — and ``tavolo_id``).
tavolo_left_together = _signals.signal("tavolo-left-together")

#: Collect, outside any transaction: the labels an area's objects need on the live pages, as
#: plain strings in the current language (the pages pass them to their JavaScript as data).
#: sender: the app. Each receiver returns ``{group: {key: label}}``.
live_labels = _signals.signal("live-labels")

#: After commit, not in a transaction: derived live state to push to a tavolo's room (coalesced).
#: sender: the payload's kind (e.g. "vote.live"); kwargs: ``payload``.
live_state_changed = _signals.signal("live-state-changed")

# --- administration and people --------------------------------------------------------------------

#: An administrative action outside a tavolo's record, worth the audit trail (procedure steps,
#: admissions, invitations, organisation and account changes, exports of official documents,
#: logins). kwargs: ``actor`` (User or None), ``action`` (dotted name, e.g. "procedure.published"),
#: ``object_type``, ``object_id``, ``details`` (small JSON-able dict; never a secret ballot, never a
#: name or an e-mail address: people by id); optionally ``outlives_rollback=True`` for an action
#: recorded even though its transaction is rolled back (a failed login: written apart afterwards).
action_recorded = _signals.signal("action-recorded")

#: Collect: a person's data held by an area, for the personal-data export. kwargs: ``user``.
#: Each receiver returns ``{key: JSON-serialisable value}`` about that person only.
personal_data_requested = _signals.signal("personal-data-requested")

#: A person is being pseudonymised (account deletion). kwargs: ``user`` (still with the real name
#: and e-mail), ``scrubber`` (privacy.service.Scrubber). Each receiver rewrites the copies of the
#: name its area keeps and returns how many rows changed.
person_pseudonymised = _signals.signal("person-pseudonymised")


#: Collect: records an area adds to the open data of a published procedure (``procedures.opendata``).
#: kwargs: ``procedure``. Each receiver returns ``{key: [row, ...]}``, rows being dicts with the CSV's
#: keys (``indicatore``, ``codice``, ``descrizione``, ``valore`` and the record columns: ``tavolo``,
#: ``macroarea``, ``tipo_organizzazione``, ``stato``, ``esito``, ``motivazione``). Never a person.
open_data_requested = _signals.signal("open-data-requested")


#: Collect: apply the retention rules an area owns (``tavoli privacy purge``). kwargs: ``config``
#: (the app's configuration, with the ``RETENTION_*`` periods), ``now``, ``dry_run`` (count only,
#: change nothing). Each receiver returns ``{counter: rows changed, or that would change}``.
retention_due = _signals.signal("retention-due")


def collect(signal, sender, **kwargs) -> dict:
    """Merge the dicts returned by every receiver of a collect signal (in connection order)."""
    merged: dict = {}
    for _receiver, value in signal.send(sender, **kwargs):
        if value:
            merged.update(value)
    return merged
