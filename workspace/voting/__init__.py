"""Priority votes of a tavolo. The counting core is pure (no database, no Flask) and re-exported
here: ``methods`` holds the counting methods, validation and the tie-break; ``tallyfile`` reads a
JSON tally file; ``cli`` is the ``votes`` click group (``from workspace.voting.cli import votes``).

The services, lowest first: ``labels`` (the words), ``electorate`` (who may vote, turnout),
``rules`` (a round's configuration), ``results`` (counting glue, breakdown, recount), ``payloads``
(rounds as JSON, member and public variants), ``box`` (the pool, the mixer and the seal of secret
rounds), ``rounds`` (create, open, declare, close, tie-break) and ``ballots`` (casting, group commit);
``views``, ``api`` and ``live`` sit on top of them. Secret ballots: docs/secret-ballot.md.
"""
from workspace.voting.methods import (
    BALLOT_FIELDS,
    DEFAULT_CRITERIA,
    METHOD_NAMES,
    METHODS,
    TIE_BREAK_RULE,
    VERSIONS,
    ApprovalSettings,
    BallotError,
    DotSettings,
    RankingSettings,
    Result,
    ScoreSettings,
    SettingsError,
    VotingError,
    approval,
    borda,
    break_ties,
    dot,
    pairwise_matrix,
    schulze,
    score,
    strongest_paths,
    tally,
    validate_ballot,
    validate_ballots,
)


def register(app) -> None:
    from workspace import realtime, signals
    from workspace.voting import api, live, privacy, views  # noqa: F401  (api adds its routes to the API blueprint)

    app.register_blueprint(views.bp)
    realtime.bind(app, live)
    signals.tavolo_snapshot.connect(live.snapshot_part)
    signals.seduta_closed.connect(live.close_live_rounds)
    signals.live_state_changed.connect(live.push_turnout)
    signals.personal_data_requested.connect(privacy.personal_data)
    signals.person_pseudonymised.connect(privacy.pseudonymise)


__all__ = [
    "BALLOT_FIELDS",
    "DEFAULT_CRITERIA",
    "METHOD_NAMES",
    "METHODS",
    "TIE_BREAK_RULE",
    "VERSIONS",
    "ApprovalSettings",
    "BallotError",
    "DotSettings",
    "RankingSettings",
    "Result",
    "ScoreSettings",
    "SettingsError",
    "VotingError",
    "approval",
    "borda",
    "break_ties",
    "dot",
    "pairwise_matrix",
    "schulze",
    "score",
    "strongest_paths",
    "tally",
    "validate_ballot",
    "validate_ballots",
    "register",
]
