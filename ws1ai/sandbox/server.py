"""Run the sandbox on a real loopback socket in a background thread (tests that need timeouts/disconnects)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from ws1ai.sandbox.app import create_app
from ws1ai.sandbox.state import SandboxState

__all__ = ["serve_in_background"]


@contextmanager
def serve_in_background(
    app_or_state: FastAPI | SandboxState, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Yield `http://127.0.0.1:<port>` while uvicorn serves the app; stop it cleanly on exit."""
    app = create_app(app_or_state) if isinstance(app_or_state, SandboxState) else app_or_state
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()
