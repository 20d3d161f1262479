"""What tests that start erpsync's own processes share (test-only: nothing at run time imports this)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection


def until(condition, seconds: float = 30):
    """Wait for `condition()` to hold, looking every 50 ms, for at most `seconds`; return what it gave."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return found


def database_url() -> str:
    """The test database, for processes started by a test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    return f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(*args, output=subprocess.DEVNULL, **env) -> subprocess.Popen:
    """`manage.py ARGS` in a process of its own, on the test database (`output=subprocess.PIPE` to read what it says)."""
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR,
                            env={**os.environ, "DATABASE_URL": database_url(), "ERPSYNC_EXPORT_ROOT": str(settings.EXPORT_ROOT),
                                 "PYTHONUNBUFFERED": "1", **env},
                            stdout=output, stderr=output, text=True)
