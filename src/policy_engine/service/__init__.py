"""The decision service: the library over HTTP/JSON, with an OpenAPI document and a playground.

``policy-engine serve CONFIG`` runs it on uvicorn; :func:`create_app` builds the ASGI application
for any other ASGI server or for tests. It needs the ``serve`` extra (Starlette and uvicorn):
``pip install 'policy-engine[serve]'``. Importing this package without it raises ``ImportError``
with that instruction.

The service is stateless apart from the loaded configuration: every request is answered from
the configuration it names (the served one, or one sent with the request), and every response
carries that configuration's revision (:func:`~policy_engine.config_revision`). See
``docs/service.md`` for the endpoints, limits and the Adobe Commerce webhook mode.
"""

from __future__ import annotations

SERVE_EXTRA_HINT = "install the serve extra: pip install 'policy-engine[serve]'"

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as error:  # pragma: no cover - the test extra installs both
    msg = f"policy_engine.service needs Starlette and uvicorn: {SERVE_EXTRA_HINT}"
    raise ImportError(msg) from error

from policy_engine.service._app import (  # noqa: E402 - after the check above
    MAX_BATCH_BYTES,
    MAX_BODY_BYTES,
    REVISION_HEADER,
    ServiceState,
    create_app,
)
from policy_engine.service._openapi import openapi_document  # noqa: E402
from policy_engine.service._run import serve  # noqa: E402

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BODY_BYTES",
    "REVISION_HEADER",
    "SERVE_EXTRA_HINT",
    "ServiceState",
    "create_app",
    "openapi_document",
    "serve",
]
