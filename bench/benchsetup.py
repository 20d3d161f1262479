"""What every benchmark does first: a scratch SQLite database and production settings."""

import os
import sys
import tempfile
from pathlib import Path


def django_for_benchmarks(prefix: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["ERPSYNC_VAR_DIR"] = str(work)
    os.environ.pop("DATABASE_URL", None)
    # Production settings: no query log, no debug helpers.
    os.environ["ERPSYNC_DEBUG"] = "0"
    os.environ.setdefault("ERPSYNC_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("ERPSYNC_ENCRYPTION_KEY", "x" * 43 + "=")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erpsync.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    return work
