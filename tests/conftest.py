"""Fixtures of the whole suite.

The tests build the service, the CLI and the action server with short, readable test secrets: they run in
development mode, where weak secrets are tolerated with a warning. Tests of the refusal itself set
APP_ENV explicitly (tests/service/test_secrets.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("APP_ENV", "development")
