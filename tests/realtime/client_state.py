"""A reducer mirroring what a live client keeps: the state of one tavolo built from a snapshot and
then from numbered events applied in ``seq`` order.

Events with ``seq <= last_seq`` are duplicates (already in the snapshot or the replay) and are
ignored; an event that skips a number reveals a gap: it is held back and ``needs_resync`` is set
until a replay or a snapshot fills the hole. The state compares equal to the state of any other
client at the same ``last_seq`` — that is what the reconnect tests check.
"""
from __future__ import annotations

import copy
from typing import Any


class ClientState:
    def __init__(self) -> None:
        self.last_seq: int | None = None
        self.tavolo: dict | None = None
        self.seduta: dict | None = None
        self.presences: dict[int, dict] = {}
        self.quorum: dict | None = None
        self.bisogni: dict[int, dict] = {}
        self.annotations: dict[int, dict] = {}
        self.held: dict[int, dict] = {}  # events past a gap, waiting for it to be filled
        self.needs_resync = False
        self.unknown_kinds: list[str] = []
        self.applied: list[int] = []

    # --- what the server sends -----------------------------------------------------------------

    def apply_reply(self, reply: dict[str, Any]) -> None:
        """The acknowledgement of ``join`` / ``resync``: a replay or a snapshot."""
        if not reply.get("ok"):
            raise ValueError(f"join refused: {reply}")
        if reply["mode"] == "snapshot":
            self.apply_snapshot(reply["snapshot"], reply["last_seq"], reply.get("events", []))
            return
        if self.last_seq is None:
            raise ValueError("a replay needs a state to apply it to")
        for event in reply["events"]:
            self.receive(event)
        if self.last_seq < reply["last_seq"]:
            self.needs_resync = True  # the replay did not reach where the server is

    def apply_snapshot(self, snapshot: dict[str, Any], last_seq: int, events: list[dict[str, Any]] | None = None) -> None:
        """A snapshot, then the contributions made since its content was built (§3), in order."""
        snap = copy.deepcopy(snapshot)
        self.tavolo = snap["tavolo"]
        self.seduta = snap["seduta"]
        self.presences = {p["user_id"]: p for p in snap.get("presences", [])}  # the register, if asked
        self.quorum = snap["quorum"]
        self.bisogni = {b["id"]: b for b in snap["bisogni"]}
        self.annotations = {a["id"]: a for a in snap["annotations"]}
        for event in copy.deepcopy(events or []):
            self._apply(event)
        self.last_seq = last_seq
        self.needs_resync = False
        self._drain()

    def apply_page(self, of: str, result: dict[str, Any]) -> int:
        """A ``page`` of what a bounded snapshot left out: only what the state lacks is added (what
        it has came from the snapshot or a later event, at least as new). How many were added."""
        into = self.bisogni if of == "bisogni" else self.annotations
        added = 0
        for item in copy.deepcopy(result["items"]):
            if item["id"] not in into:
                into[item["id"]] = item
                added += 1
        return added

    def receive(self, event: dict[str, Any]) -> str:
        """One broadcast event: 'applied', 'ignored' (already known) or 'held' (gap before it)."""
        seq = event["seq"]
        if self.last_seq is not None and seq <= self.last_seq:
            return "ignored"
        if self.last_seq is None or seq != self.last_seq + 1:
            self.held[seq] = event
            self.needs_resync = True
            return "held"
        self._apply(event)
        self._drain()
        return "applied"

    # --- internals -----------------------------------------------------------------------------------

    def _drain(self) -> None:
        for seq in sorted(self.held):
            if seq <= self.last_seq:
                del self.held[seq]
            elif seq == self.last_seq + 1:
                self._apply(self.held.pop(seq))
        if not self.held:
            self.needs_resync = False

    def _apply(self, event: dict[str, Any]) -> None:
        kind, payload = event["kind"], copy.deepcopy(event["payload"])
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is None:
            self.unknown_kinds.append(kind)
        else:
            handler(payload)
        self.last_seq = event["seq"]
        self.applied.append(event["seq"])

    def _live(self, payload: dict) -> dict | None:
        if self.seduta is not None and self.seduta["id"] == payload["seduta_id"]:
            return self.seduta
        return None

    def _on_seduta_convened(self, payload: dict) -> None:
        pass  # the live state shows only the seduta under way

    def _on_seduta_started(self, payload: dict) -> None:
        self.quorum = payload.pop("quorum", None)
        self.seduta = payload
        self.presences = {}

    def _on_seduta_closed(self, payload: dict) -> None:
        if self.seduta is not None and self.seduta["id"] == payload["id"]:
            self.seduta, self.presences, self.quorum = None, {}, None

    def _on_agenda_moved(self, payload: dict) -> None:
        if (seduta := self._live(payload)) is not None:
            seduta["current_item_id"] = payload["current_item_id"]

    def _on_timer_set(self, payload: dict) -> None:
        if (seduta := self._live(payload)) is not None:
            seduta["timer"] = {"ends_at": payload["ends_at"], "label": payload["label"]}

    def _on_spotlight_set(self, payload: dict) -> None:
        if (seduta := self._live(payload)) is not None:
            seduta["spotlight_bisogno_id"] = payload["bisogno_id"]

    def _on_presence_joined(self, payload: dict) -> None:
        self.quorum = payload.pop("quorum")
        self.presences[payload["user_id"]] = payload

    def _on_presence_left(self, payload: dict) -> None:
        self.quorum = payload.pop("quorum")
        self.presences.pop(payload["user_id"], None)

    def _on_presence_marked(self, payload: dict) -> None:
        self.quorum = payload["quorum"]
        if payload["present"]:
            self.presences[payload["user_id"]] = payload["presence"]
        else:
            self.presences.pop(payload["user_id"], None)

    def _bisogno(self, payload: dict) -> None:
        payload.pop("into", None)
        self.bisogni[payload["id"]] = payload

    _on_bisogno_created = _on_bisogno_updated = _on_bisogno_status = _on_bisogno_merged = _bisogno

    def _annotation(self, payload: dict) -> None:
        self.annotations[payload["id"]] = payload

    _on_annotation_created = _on_annotation_deleted = _on_annotation_supported = _annotation

    # --- comparison ------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "last_seq": self.last_seq,
            "tavolo": self.tavolo,
            "seduta": self.seduta,
            "presences": self.presences,
            "quorum": self.quorum,
            "bisogni": self.bisogni,
            "annotations": self.annotations,
        }
