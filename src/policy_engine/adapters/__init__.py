"""Adapters from store platforms' own payloads to policy_engine inputs.

Each platform has its own public module (``policy_engine.adapters.magento``); this package holds
nothing else, so importing one adapter never loads another.
"""

from __future__ import annotations

__all__: list[str] = []
