"""Socket.IO operations on bisogni and annotations, and the needs' part of the live snapshot.
Bound by ``workspace.needs.register``."""
from __future__ import annotations

from workspace import realtime, record
from workspace.needs import service
from workspace.needs.labels import CONSOLIDATION_LABELS, KIND_LABELS, STATUS_LABELS
from workspace.needs.models import ANNOTATION_KINDS, BISOGNO_STATUSES, CONSOLIDATION
from workspace.needs.payloads import annotation_member, bisogno_member
from workspace.realtime import ID, action, operation
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.labels import plain


def snapshot_part(session, tavolo_id: int) -> dict:
    return service.needs_snapshot(session, tavoli_service.get_tavolo(session, tavolo_id))


@action("page", {"tavolo_id": ID, "of": {"enum": ["bisogni", "annotations"]}, "before_id": ID,
                 "limit": {"type": "integer", "minimum": 1, "maximum": service.PAGE_LIMIT}},
        required=("tavolo_id", "of"))
def _page(session, user, data):
    """The bisogni or annotations a bounded snapshot left out, newest first, a page at a time;
    pages asked at the same seq are built once for everyone (docs/live-protocol.md, ``page``)."""
    tavolo_id, before, limit = data["tavolo_id"], data.get("before_id"), data.get("limit", service.PAGE_LIMIT)
    tavoli_service.get_tavolo(session, tavolo_id)
    permissions.require(session, user, "view", tavolo_id)
    seq = record.last_seq(session, tavolo_id)

    def build():
        if data["of"] == "bisogni":
            rows: list = service.bisogni_page(session, tavolo_id, before, limit)
            items = [bisogno_member(b) for b in rows]
        else:
            rows = service.annotations_page(session, tavolo_id, before, limit)
            items = [annotation_member(a) for a in rows]
        return {"items": items, "next_before_id": rows[-1].id if len(rows) == limit else None, "last_seq": seq}

    return realtime.shared(session, tavolo_id, seq, ("page", data["of"], before, limit), build)


def live_labels(_app) -> dict[str, dict[str, str]]:
    """Receiver of ``signals.live_labels``: how the live pages name annotation kinds, consolidato
    or nuovo, and the bisogni's statuses."""
    return {"kinds": plain(KIND_LABELS), "consolidation": plain(CONSOLIDATION_LABELS),
            "bisogno_status": plain(STATUS_LABELS)}


# Text lengths are checked by the service (a clear message with the configured limit); the
# schema only fixes types and shapes.
TEXT = {"type": "string"}
BISOGNO_FIELDS = {
    "title": TEXT,
    "description": TEXT,
    "macroarea": {"type": "string", "pattern": "^[A-L]$"},
    "transversal": {"type": "array", "items": {"type": "string", "pattern": "^[A-L]$"}, "maxItems": 12},
    "key_points": {"type": "array", "items": ID, "maxItems": 100},
    "target_population": TEXT,
    "comuni": {"type": "array", "items": ID, "maxItems": 500},
    "whole_ambito": {"type": "boolean"},
    "evidence_source": TEXT,
    "evidence_figure": TEXT,
    "evidence_year": {"type": ["integer", "null"]},
    "consolidation": {"enum": list(CONSOLIDATION)},
}


def _fields(data: dict) -> dict:
    return {k: v for k, v in data.items() if k in BISOGNO_FIELDS}


@operation("bisogno.create", BISOGNO_FIELDS, required=("title",))
def _create(session, user, data):
    tavolo = tavoli_service.get_tavolo(session, data["tavolo_id"])
    bisogno, event = service.create_bisogno(session, user, tavolo, _fields(data), data["op_id"])
    return event, {"id": bisogno.id}


@operation("bisogno.update", {"bisogno_id": ID, "expected_version": {"type": "integer", "minimum": 1},
                              **BISOGNO_FIELDS}, required=("bisogno_id",))
def _update(session, user, data):
    bisogno = service.get_bisogno(session, data["bisogno_id"], data["tavolo_id"])
    event = service.update_bisogno(session, user, bisogno, _fields(data), data.get("expected_version"),
                                   data["op_id"])
    return event, {"id": bisogno.id, "version": bisogno.version}


@operation("bisogno.status", {"bisogno_id": ID, "status": {"enum": list(BISOGNO_STATUSES)}},
           required=("bisogno_id", "status"))
def _status(session, user, data):
    bisogno = service.get_bisogno(session, data["bisogno_id"], data["tavolo_id"])
    event = service.set_status(session, user, bisogno, data["status"], data["op_id"])
    return event, {"id": bisogno.id, "status": bisogno.status}


@operation("bisogno.merge", {"bisogno_id": ID, "into_id": ID}, required=("bisogno_id", "into_id"))
def _merge(session, user, data):
    bisogno = service.get_bisogno(session, data["bisogno_id"], data["tavolo_id"])
    into = service.get_bisogno(session, data["into_id"], data["tavolo_id"])
    event = service.merge_bisogno(session, user, bisogno, into, data["op_id"])
    return event, {"id": bisogno.id, "into": into.id}


@operation("spotlight.set", {"seduta_id": ID, "bisogno_id": {"oneOf": [ID, {"type": "null"}]}},
           required=("seduta_id", "bisogno_id"))
def _spotlight(session, user, data):
    seduta = tavoli_service.get_seduta(session, data["seduta_id"], data["tavolo_id"])
    event = service.spotlight(session, user, seduta, data["bisogno_id"], data["op_id"])
    return event, {"bisogno_id": data["bisogno_id"]}


@operation("annotation.create", {"bisogno_id": ID, "kind": {"enum": list(ANNOTATION_KINDS)}, "body": TEXT,
                                 "parent_id": {"oneOf": [ID, {"type": "null"}]}},
           required=("bisogno_id", "kind", "body"))
def _annotate(session, user, data):
    bisogno = service.get_bisogno(session, data["bisogno_id"], data["tavolo_id"])
    annotation, event = service.add_annotation(session, user, bisogno, data["kind"], data["body"],
                                               data.get("parent_id"), data["op_id"])
    return event, {"id": annotation.id}


@operation("annotation.delete", {"annotation_id": ID, "reason": TEXT}, required=("annotation_id",))
def _delete(session, user, data):
    annotation = service.get_annotation(session, data["annotation_id"], data["tavolo_id"])
    event = service.delete_annotation(session, user, annotation, data.get("reason", ""), data["op_id"])
    return event, {"id": annotation.id}


@operation("annotation.support", {"annotation_id": ID, "support": {"type": "boolean"}},
           required=("annotation_id", "support"))
def _support(session, user, data):
    annotation = service.get_annotation(session, data["annotation_id"], data["tavolo_id"])
    event = service.toggle_support(session, user, annotation, data["support"], data["op_id"])
    return event, {"id": annotation.id, "supports": event.payload["supports"]}
