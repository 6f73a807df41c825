"""The bad values of the input sweep (tests/hardening/test_bad_input_sweep.py), by kind."""
from __future__ import annotations

HUGE = "9223372036854775808"

#: Text no person typed: always refused (422), whatever the route.
FORBIDDEN = {
    "nul": "a\x00b",
    "only_nul": "\x00",
    "bell": "allarme\x07",
    "escape": "\x1b[31mrosso",
    "del": "a\x7fb",
}

#: Values every route must survive (a 4xx with a message, or a harmless success), never a 500.
SURVIVE = {
    "oversized": "x" * 25_000,
    "oversized_line": ("parola " * 6000).strip(),
    "huge_int": HUGE,
    "twenty_three_digits": "1" * 23,
    "superscript_digit": "²",
    "arabic_digit": "٣",
    "negative": "-1",
    "float": "1.5e308",
    "empty": "",
    "spaces": "   ",
    "malformed_date": "2024-13-45T25:61",
    "json_like": '{"a": [1, 2]}',
    "html": "<script>alert(1)</script>",
    "template": "{{ 7*7 }}{% raw %}",
    "sql": "'; DROP TABLE bisogno; --",
    "rtl_override": "abc\u202edef",
    "zero_width": "a\u200b\u200c\u200db\ufeff",
    "emoji_zwj": "👩‍👩‍👧 🇮🇹",
    "combining": "e\u0301" * 50,
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "replacement": "\ufffd",
}

#: Raw url-encoded bodies that are not UTF-8 (a lone surrogate's UTF-8 form included): 400.
BAD_ENCODING = {
    "latin1": b"%FF%FE",
    "surrogate_utf8": b"%ED%A0%80",
    "truncated": b"%E2%82",
}

#: Socket payloads that are not objects, or objects of the wrong shape.
LIVE_SHAPES = [None, "testo", 42, 3.5, True, [], [1, 2], {}, {"tavolo_id": "1"}, {"tavolo_id": HUGE},
               {"tavolo_id": 2**63}, {"tavolo_id": -1}, {"tavolo_id": True}, {"op_id": "x" * 500, "tavolo_id": 1}]

#: Values put in every property of a live message (with a valid op_id and tavolo).
LIVE_VALUES = {
    "nul": "a\x00b",
    "lone_surrogate": "a\ud800b",
    "lone_low_surrogate": "\udfff",
    "control": "\x01\x02",
    "oversized": "x" * 100_000,
    "huge_int": 2**63,
    "negative": -5,
    "float": 1.5,
    "bool": True,
    "list": ["a", None, {}],
    "object": {"nested": {"deep": ["\x00"]}},
    "null": None,
}
