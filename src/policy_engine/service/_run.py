"""Running the service on uvicorn (``policy-engine serve``)."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import uvicorn

from policy_engine.service._app import DEFAULT_BODY_TIMEOUT, create_app

__all__ = ["serve"]


def serve(  # pragma: no cover - runs until a signal: tested in a subprocess
    config: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    log_level: str = "info",
) -> None:
    """Serve the configuration file ``config`` until interrupted (SIGINT or SIGTERM).

    SIGHUP reloads the file, as ``POST /v1/reload`` does: a document that does not load is
    logged and the old configuration keeps serving.

    Raises:
        PolicyConfigError: when the configuration file does not load at start.
    """
    app = create_app(config, body_timeout=body_timeout, reload_on_sighup=True)
    # What is loaded now lives as long as the process: keep the collector off it, so that
    # collections stay short while requests are answered.
    gc.collect()
    gc.freeze()
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s: %(message)s")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        # A client idle on a kept-alive connection is closed after this many seconds.
        timeout_keep_alive=5,
        server_header=False,
    )
