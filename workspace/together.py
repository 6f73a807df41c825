"""Work handled together: whoever arrives first leads and does the work of everyone waiting (a
batch), the others wait for it. A join storm — hundreds of sockets connecting at once — then costs a
few transactions and queries instead of a few per connection, and a writer meanwhile waits for one
batch, not for every join queued before it.

Works in both server modes: under gevent the waits are cooperative (``threading`` is patched), in
threading mode they block a thread."""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class _Waiting(Generic[T]):
    item: T
    ready: threading.Event = field(default_factory=threading.Event)
    done: bool = False


class Together(Generic[T]):
    """A queue of items handled in batches of at most ``limit`` by ``handle(items)``, which records
    each item's outcome on the item itself (and must not leave one undecided)."""

    def __init__(self, handle: Callable[[list[T]], None], limit: int,
                 pause: Callable[[], None] = lambda: None) -> None:
        self.handle, self.limit, self.pause = handle, limit, pause
        self.lock = threading.Lock()
        self.queue: deque[_Waiting[T]] = deque()
        self.leading = False

    def add(self, item: T) -> None:
        """Hand ``item`` over and return once its batch is handled. What ``handle`` raises reaches
        the leader only (the others find their outcome on their item)."""
        me = _Waiting(item)
        with self.lock:
            self.queue.append(me)
            lead = not self.leading
            self.leading = True
        if not lead:
            me.ready.wait()  # woken with the batch done, or to lead the next one
        if not me.done:
            self.lead()

    def lead(self) -> None:
        """Handle the batch waiting now (the leader's part; tests call it on a prepared queue)."""
        # Under gevent, let the others that are ready queue up first; in threading mode, a yield.
        self.pause()
        with self.lock:
            batch = [self.queue.popleft() for _ in range(min(self.limit, len(self.queue)))]
        try:
            self.handle([waiting.item for waiting in batch])
        finally:  # never leave anyone waiting forever
            for waiting in batch:
                waiting.done = True
                waiting.ready.set()
            with self.lock:
                if self.queue:
                    self.queue[0].ready.set()  # not done: it leads the next batch
                else:
                    self.leading = False

    def waiting(self, *items: T) -> list[_Waiting[T]]:
        """Queue ``items`` behind a leader on its way (for tests: the next ``lead`` handles them)."""
        added = [_Waiting(item) for item in items]
        with self.lock:
            self.queue.extend(added)
            self.leading = True
        return added
