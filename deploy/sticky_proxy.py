"""A tiny sticky TCP proxy for trying the scaled deployment where nginx is not installed.

``python deploy/sticky_proxy.py --listen 127.0.0.1:8000 --backend 127.0.0.1:8001 --backend 127.0.0.1:8002``

Each client connection goes to a backend chosen by the client's address (rendezvous hashing, like
nginx's ``hash $remote_addr consistent``): every connection of one client address — the long-polling
requests of one Engine.IO session included — reaches the same process. When that process does not
accept the connection (stopped, killed) the next one in the client's order is used, so clients of a
dead process reconnect to a live one. Bytes are copied as they are (the ``Host`` header and the
WebSocket upgrade pass untouched). For trying and testing only: in production use nginx with
``deploy/nginx.conf``.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import signal
import sys


def order(client: str, backends: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The backends in this client's preference order (rendezvous hashing)."""
    def weight(backend: tuple[str, int]) -> bytes:
        return hashlib.blake2b(f"{client}|{backend[0]}:{backend[1]}".encode(), digest_size=8).digest()

    return sorted(backends, key=weight, reverse=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def _handle(backends, client_reader, client_writer) -> None:
    peer = client_writer.get_extra_info("peername")
    host = peer[0] if peer else "?"
    for backend in order(host, backends):
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(*backend), 5)
            break
        except (TimeoutError, OSError):
            continue
    else:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def serve(listen: tuple[str, int], backends: list[tuple[str, int]]) -> None:
    server = await asyncio.start_server(lambda r, w: _handle(backends, r, w), *listen, backlog=4096)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"proxy in ascolto su {listen[0]}:{listen[1]} -> "
          + ", ".join(f"{h}:{p}" for h, p in backends), flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sticky_proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, type=_address)
    parser.add_argument("--backend", action="append", required=True, type=_address)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.listen, args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
