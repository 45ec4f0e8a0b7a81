"""Running the decision service for tests: in a thread (uvicorn) or as ``policy-engine serve``.

Both listen on a free port of 127.0.0.1 only and are stopped by the test that started them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from policy_engine.service import create_app

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve an ASGI app on uvicorn in a thread; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", timeout_keep_alive=5, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():  # pragma: no cover
            msg = "the test server did not start"
            raise RuntimeError(msg)
        time.sleep(0.01)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextlib.contextmanager
def serving(config: Any, **options: Any) -> Iterator[str]:
    """``create_app(config, **options)`` served in a thread; yields its base URL."""
    with running(create_app(config, **options)) as url:
        yield url


@contextlib.contextmanager
def serve_command(config: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``policy-engine serve CONFIG`` in a subprocess; yields its base URL and the process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "policy_engine.cli",
            "serve",
            str(config),
            "--port",
            str(port),
            *list(extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = request(url, "GET", "/healthz")
            except OSError:
                status = 0
            if status == 200:
                break
            if process.poll() is not None or time.monotonic() > deadline:  # pragma: no cover
                output = process.stdout.read() if process.stdout else ""
                msg = f"policy-engine serve did not start: {output}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns the status, the headers (lower-case names) and the body."""
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        found = {key.lower(): value for key, value in response.getheaders()}
        return response.status, found, data
    finally:
        connection.close()


def post_json(url: str, path: str, data: Any) -> tuple[int, dict[str, str], Any]:
    """POST a JSON body; returns the status, the headers and the decoded JSON answer."""
    body = json.dumps(data).encode("utf-8")
    status, headers, answer = request(url, "POST", path, body, {"Content-Type": "application/json"})
    return status, headers, json.loads(answer)


def get_json(url: str, path: str) -> tuple[int, dict[str, str], Any]:
    """GET a JSON answer."""
    status, headers, answer = request(url, "GET", path)
    return status, headers, json.loads(answer)
