"""The outbox: in the served process the room deliveries of committed events leave after the
writer's acknowledgement, in commit order; elsewhere they are made at once."""
from __future__ import annotations

import logging

from workspace.realtime import Outbox


def test_deferred_deliveries_run_later_in_order_from_one_drain(caplog):
    spawned, done = [], []
    box = Outbox(spawned.append, lambda: True)

    def fail():
        raise RuntimeError("Redis non risponde")

    box.put(lambda: done.append(1))
    box.put(fail)
    box.put(lambda: done.append(3))
    # Nothing delivered while the handler is still answering; one drain for the three.
    assert done == [] and len(spawned) == 1 and box.draining
    with caplog.at_level(logging.ERROR, logger="workspace.realtime"):
        spawned[0]()
    # In order; a failed delivery is logged and does not stop the ones after it.
    assert done == [1, 3] and not box.draining and not box.items
    assert "delivery failed" in caplog.text
    # The next delivery starts a new drain.
    box.put(lambda: done.append(4))
    assert len(spawned) == 2 and done == [1, 3]
    spawned[1]()
    assert done == [1, 3, 4]


def test_a_delivery_put_while_draining_is_made_by_the_same_drain():
    spawned, done = [], []
    box = Outbox(spawned.append, lambda: True)
    box.put(lambda: (done.append("evento"), box.put(lambda: done.append("uscita dalla stanza"))))
    spawned[0]()
    assert done == ["evento", "uscita dalla stanza"] and len(spawned) == 1


def test_in_threading_mode_a_delivery_is_made_at_once():
    spawned, done = [], []
    box = Outbox(spawned.append, lambda: False)
    box.put(lambda: done.append(1))
    assert done == [1] and spawned == []
