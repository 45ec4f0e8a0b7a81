"""``python -m policy_engine.cli``."""

from __future__ import annotations

import sys

from policy_engine.cli import main

sys.exit(main())
