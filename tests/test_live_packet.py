"""The live protocol's packets (``workspace.extensions.LivePacket``): JSON only, and a value encoded
once (``Encoded``: the first-join snapshot shared by every client joining at the same point) goes
out unchanged inside each reply, with nothing a client wrote able to pass for one."""
from __future__ import annotations

import json

from socketio import packet

from workspace.extensions import Encoded, LivePacket


def _decoded(pkt: LivePacket):
    text = pkt.encode()
    assert isinstance(text, str)
    return packet.Packet(encoded_packet=text).data


def test_an_encoded_value_is_spliced_into_the_ack_as_it_is():
    snapshot = {"bisogni": [{"id": 1, "title": "Caregiver \"esausti\" — àèì", "tags": [None, True, 1.5]}],
                "presences": []}
    reply = {"ok": True, "mode": "snapshot", "snapshot": Encoded(json.dumps(snapshot)), "last_seq": 7}
    got = _decoded(LivePacket(packet.ACK, data=[reply], namespace="/live", id=3))
    assert got == [{"ok": True, "mode": "snapshot", "snapshot": snapshot, "last_seq": 7}]


def test_several_encoded_values_and_plain_ones_keep_their_places():
    parts = [Encoded(json.dumps({"n": n})) for n in range(12)]  # "…1" and "…11" must not be confused
    got = _decoded(LivePacket(packet.EVENT, data=["x", {"parts": parts, "after": "ok"}], namespace="/live"))
    assert got == ["x", {"parts": [{"n": n} for n in range(12)], "after": "ok"}]


def test_text_that_looks_like_a_placeholder_stays_text():
    """A client cannot make the server splice raw JSON: the placeholder carries a per-process random
    marker; a guess with the right shape but not the marker is sent back as the string it is."""
    guess = "\x00enc" + "0" * 32 + ":0"
    forged = {"body": guess, "other": '"},"ok":false,"x":{"'}
    got = _decoded(LivePacket(packet.ACK, data=[{"echo": forged, "snapshot": Encoded("[1,2]")}],
                              namespace="/live", id=1))
    assert got == [{"echo": forged, "snapshot": [1, 2]}]


def test_anything_else_that_is_not_json_is_refused():
    import pytest

    with pytest.raises(TypeError):
        LivePacket(packet.EVENT, data=["x", {"when": object()}], namespace="/live").encode()
