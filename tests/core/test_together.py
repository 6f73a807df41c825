"""workspace/together.py: the first to arrive handles the batch waiting, the others wait for it."""
from __future__ import annotations

import threading

import pytest

from workspace.together import Together


def test_items_queued_behind_a_leader_are_handled_in_batches_of_the_limit():
    batches: list[list[int]] = []
    together = Together(batches.append, limit=3)
    waiting = together.waiting(1, 2, 3, 4, 5)
    together.lead()
    assert batches == [[1, 2, 3]] and [w.done for w in waiting] == [True, True, True, False, False]
    assert waiting[3].ready.is_set() and not waiting[4].ready.is_set()  # the next one leads
    assert together.leading
    together.lead()
    assert batches == [[1, 2, 3], [4, 5]] and all(w.done for w in waiting) and not together.leading


def test_what_the_handler_raises_reaches_the_leader_and_nobody_is_left_waiting():
    def broken(items):
        raise RuntimeError("guasto")

    together = Together(broken, limit=10)
    waiting = together.waiting("a", "b")
    with pytest.raises(RuntimeError):
        together.lead()
    assert all(w.done and w.ready.is_set() for w in waiting) and not together.leading and not together.queue


def test_threads_adding_at_once_are_each_handled_exactly_once_and_all_return():
    handled: list[int] = []
    calls = []
    gate = threading.Barrier(20)

    def handle(items):
        calls.append(len(items))
        handled.extend(items)

    together = Together(handle, limit=4)

    def add(n):
        gate.wait()
        together.add(n)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sorted(handled) == list(range(20)) and max(calls) <= 4
    assert not together.leading and not together.queue
