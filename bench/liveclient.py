"""An independent live client: Socket.IO v5 over Engine.IO v4 on a raw WebSocket (aiohttp), written
from docs/live-protocol.md alone — no python-socketio, no Tavoli import. Thousands of them fit in one
asyncio process (one socket and one small task each, no thread per client).

Wire format used (Engine.IO v4 + Socket.IO v5, text frames only):

- server ``0{...}`` open; ``2`` ping -> client ``3`` pong;
- client ``40/live,{"csrf_token": ...}`` connect; server ``40/live,{"sid": ...}`` or
  ``44/live,{"message": ..., "data": {"error": code}}`` (§2);
- client ``42/live,<id>["join", {...}]`` emit with ack; server ``43/live,<id>[{...}]`` ack;
- server ``42/live,["event", {...}]`` the pushed event, ``42/live,["events", {"tavolo_id", "events"}]``
  a batch of consecutive events (§4).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

# The clients share the benchmark machine's two cores with the server: in a join storm of 300 the
# client processes used as much CPU as the server (2.0 s and 1.9 s), json.loads of the ~180 KB replies
# first in their profile; decoding with orjson brought the clients to 1.6 s.
_loads = orjson.loads

NAMESPACE = "/live"
_EVENT = f"42{NAMESPACE},"
_ACK = f"43{NAMESPACE},"


class Refused(Exception):
    """The handshake was refused (CONNECT_ERROR) or the connection failed."""


class LiveClient:
    """One connection to ``/live``. ``on_event(event, monotonic)`` is called for each pushed event."""

    def __init__(self, http: aiohttp.ClientSession, base: str, cookie: str, token: str,
                 on_event: Callable[[dict[str, Any], float], None] | None = None):
        self.http, self.base, self.cookie, self.token = http, base.rstrip("/"), cookie, token
        self.on_event = on_event
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.opened_at = 0.0

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed and not self.closed.is_set()

    async def connect(self, timeout: float = 30.0) -> None:
        url = self.base.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        try:
            self.ws = await self.http.ws_connect(url, headers={"Cookie": self.cookie}, autoping=False,
                                                 timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5),
                                                 max_msg_size=0, compress=0)
            opened = await asyncio.wait_for(self.ws.receive_str(), timeout)
            if not opened.startswith("0"):
                raise Refused(f"no open packet: {opened[:80]}")
            await self.ws.send_str(f"40{NAMESPACE}," + json.dumps({"csrf_token": self.token}))
            while True:
                reply = await asyncio.wait_for(self.ws.receive_str(), timeout)
                if reply == "2":
                    await self.ws.send_str("3")
                    continue
                if reply.startswith(f"40{NAMESPACE},"):
                    break
                if reply.startswith(f"44{NAMESPACE},"):
                    raise Refused(reply[len(NAMESPACE) + 3:])
        except (TimeoutError, aiohttp.ClientError, TypeError, OSError) as exc:
            await self.close()
            raise Refused(f"{type(exc).__name__}: {exc}") from exc
        except Refused:
            await self.close()
            raise
        self.opened_at = time.monotonic()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        ws = self.ws
        assert ws is not None
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        self.close_reason = f"{msg.type.name} {ws.close_code} {msg.extra or ''}".strip()
                        break
                    continue
                data = msg.data
                if data.startswith(_EVENT):
                    now = time.monotonic()
                    try:
                        name, event = _loads(data[len(_EVENT):])
                    except ValueError:
                        continue
                    if name == "event" and self.on_event is not None:
                        self.on_event(event, now)
                    elif name == "events" and self.on_event is not None:  # a batch (§4): its events in order
                        for one in event.get("events", []):
                            self.on_event({"tavolo_id": event.get("tavolo_id"), **one}, now)
                elif data.startswith(_ACK):
                    body = data[len(_ACK):]
                    bracket = body.index("[")
                    future = self._pending.pop(int(body[:bracket]), None)
                    if future is not None and not future.done():
                        args = _loads(body[bracket:])
                        future.set_result(args[0] if args else None)
                elif data == "2":
                    await ws.send_str("3")
                elif data.startswith("41") or data == "1":  # the server closed the namespace / the session
                    self.close_reason = f"server sent {data[:20]!r}"
                    break
            else:
                self.close_reason = self.close_reason or f"closed, code {ws.close_code}"
        except (aiohttp.ClientError, OSError, asyncio.CancelledError) as exc:
            self.close_reason = self.close_reason or type(exc).__name__
        finally:
            self.closed.set()
            lost = f"connection lost after {time.monotonic() - self.opened_at:.1f} s ({self.close_reason})"
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(lost))
            self._pending.clear()

    async def call(self, event: str, data: dict[str, Any], timeout: float = 30.0) -> Any:
        """Emit ``event`` with ``data`` and wait for its acknowledgement."""
        if not self.connected:
            raise ConnectionError("not connected")
        ack_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[ack_id] = future
        assert self.ws is not None
        await self.ws.send_str(f"42{NAMESPACE},{ack_id}" + json.dumps([event, data]))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(ack_id, None)

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            try:
                await self.ws.close()
            except (aiohttp.ClientError, OSError):
                pass
        if self._reader is not None:
            self._reader.cancel()
        self.closed.set()


def http_session(local_addr: str | None = None) -> aiohttp.ClientSession:
    """One HTTP session for many clients (no connection limit: each WebSocket holds one).
    ``local_addr`` (e.g. ``127.0.0.7``) is the source address of its connections: a sticky proxy
    hashing the client's address then spreads clients of one machine over its processes."""
    connector = aiohttp.TCPConnector(limit=0, local_addr=(local_addr, 0) if local_addr else None)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
