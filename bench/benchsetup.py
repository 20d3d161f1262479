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


def company_with_export(export: Path):
    """Migrate, then a company, an admin who may add projects, and the export refreshed as its ERP."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from erpsync.companies.models import AccessLevel, Company, Membership
    from erpsync.erp.models import ErpConnection
    from erpsync.erp.services import erp_refresh

    call_command("migrate", verbosity=0)
    company = Company.objects.create(name="Bench", slug="bench")
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(user=user, company=company, erp_level=AccessLevel.ADMIN, can_create_project=True)
    connection = ErpConnection.objects.create(company=company, name="bench", kind="cmic_files", settings={"folder": export.name})
    erp_refresh(connection=connection)
    return company, user
