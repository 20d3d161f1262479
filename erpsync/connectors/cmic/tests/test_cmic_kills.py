"""Processes die at any line: a refresh whose worker or command is killed ends interrupted, and the next one completes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from erpsync.erp.models import ErpConnection, StagedJob, SyncRun
from erpsync.erp.services import erp_refresh_enqueue
from erpsync.erp.services.runs import sync_runs_reap

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(settings.BASE_DIR)


def until(condition, seconds: float = 30):
    """Wait for `condition()` to hold, looking every 50 ms, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return found


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    return f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(*args) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "ERPSYNC_RUN_LEASE_SECONDS": "1"}
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture
def slow_cmic(fake, company, settings):
    """A CMiC connection whose answers take a while, so a refresh is caught in the middle."""
    settings.RUN_LEASE_SECONDS = 1
    fake.latency = 0.2
    values = fake.connection_settings(page_size=10)
    password = values.pop("password")
    cmic = ErpConnection(company=company, name="CMiC live", kind="cmic", settings=values)
    cmic.set_secrets({"password": password})
    cmic.save()
    return cmic


def reading(run: SyncRun) -> bool:
    run.refresh_from_db()
    return run.outcome == "running" and run.progress_label.startswith("Reading")


def no_pull_tables_left() -> bool:
    """The killed process's scratch tables went with its database session."""
    if connection.vendor != "postgresql":
        return True  # SQLite's TEMP tables live in files unlinked when opened: a dead process leaves none
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'pull\\_%%'")
        return cursor.fetchone()[0] == 0


def test_a_refresh_whose_worker_is_killed_ends_interrupted_and_the_next_one_completes(slow_cmic, fake, accountant):
    worker = manage("db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.1")
    try:
        run = erp_refresh_enqueue(connection=slow_cmic, user=accountant)
        until(lambda: reading(run))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
    (reaped,) = until(lambda: sync_runs_reap(connection=slow_cmic))
    run.refresh_from_db()
    assert reaped.pk == run.pk and run.outcome == "interrupted"
    assert run.error == "The worker doing it stopped while reading from the ERP; nothing was changed. Start the refresh again."
    assert DBTaskResult.objects.get(id=run.task_id).status == TaskResultStatus.FAILED
    assert not StagedJob.objects.exists()
    until(no_pull_tables_left)

    fake.latency = 0
    again = erp_refresh_enqueue(connection=slow_cmic, user=accountant)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    again.refresh_from_db()
    assert again.outcome == "succeeded"
    staged = list(StagedJob.objects.values_list("erp_company_code", "job_code"))
    assert len(staged) == len(set(staged)) == len(fake.items["jcjob"])


def test_a_refresh_command_killed_from_outside_ends_interrupted_and_the_next_one_completes(slow_cmic, fake):
    command = manage("erp_refresh")
    try:
        run = until(lambda: SyncRun.objects.filter(kind="refresh").first())
        until(lambda: reading(run))
        command.send_signal(signal.SIGKILL)
        command.wait()
    finally:
        if command.poll() is None:
            command.kill()
    until(lambda: sync_runs_reap(connection=slow_cmic))
    run.refresh_from_db()
    assert (run.outcome, run.task_id) == ("interrupted", "")
    assert run.error == "The process doing it stopped while reading from the ERP; nothing was changed. Start the refresh again."
    fake.latency = 0
    call_command("erp_refresh")
    assert StagedJob.objects.count() == len(fake.items["jcjob"])
    assert list(SyncRun.objects.order_by("pk").values_list("outcome", flat=True)) == ["interrupted", "succeeded"]
