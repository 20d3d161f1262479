"""Nothing stays "running" for ever: runs whose process stopped are interrupted, with a true reason."""

import json
import uuid
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from erpsync.erp.models import PublishStatus, StagedJob, StagedJobStatus, SyncRun
from erpsync.erp.services import erp_refresh_enqueue
from erpsync.erp.services.runs import sync_runs_reap
from erpsync.projects.models import Project

LAPSED = timedelta(seconds=121)  # just past the default lease of 120 s


def running(run: SyncRun, *, label: str = "", beat_ago: timedelta = timedelta(0), task_id: str = "") -> SyncRun:
    SyncRun.objects.filter(pk=run.pk).update(outcome="running", started_at=timezone.now() - beat_ago, progress_label=label,
                                             heartbeat_at=timezone.now() - beat_ago, task_id=task_id)
    run.refresh_from_db()
    return run


def test_a_refresh_whose_worker_stopped_is_interrupted_and_a_new_one_starts_at_once(connection, accountant):
    stuck = running(erp_refresh_enqueue(connection=connection, user=accountant), label="Saving", beat_ago=LAPSED,
                    task_id=str(uuid.uuid4()))
    fresh = erp_refresh_enqueue(connection=connection, user=accountant)
    assert fresh.pk != stuck.pk and fresh.outcome == "queued"
    stuck.refresh_from_db()
    assert (stuck.outcome, stuck.error) == (
        "interrupted", "The worker doing it stopped while saving; nothing was changed. Start the refresh again.")
    assert stuck.finished_at is not None


def test_a_refresh_that_renews_its_lease_is_left_running(connection, accountant):
    alive = running(erp_refresh_enqueue(connection=connection, user=accountant), label="Reading: 12 jobs",
                    beat_ago=timedelta(seconds=30))
    assert sync_runs_reap() == []
    assert erp_refresh_enqueue(connection=connection, user=accountant) == alive  # the second request follows it


def test_a_queued_run_is_left_while_its_task_waits_for_a_worker(connection, accountant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = erp_refresh_enqueue(connection=connection, user=accountant)
    run.refresh_from_db()
    assert DBTaskResult.objects.get(id=run.task_id).status == TaskResultStatus.READY
    assert sync_runs_reap(now=timezone.now() + LAPSED) == []


def test_a_queued_run_whose_process_stopped_before_starting_is_interrupted(connection, accountant):
    run = erp_refresh_enqueue(connection=connection, user=accountant)  # its task was never queued: the process died first
    (reaped,) = sync_runs_reap(now=timezone.now() + LAPSED)
    run.refresh_from_db()
    assert reaped.pk == run.pk and run.outcome == "interrupted"
    assert run.error == "The process doing it stopped before it started; nothing was changed. Start the refresh again."


def test_the_dead_workers_task_is_settled(connection, accountant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = erp_refresh_enqueue(connection=connection, user=accountant)
    run.refresh_from_db()
    task = DBTaskResult.objects.get(id=run.task_id)
    task.claim("a-worker-that-dies")
    running(run, label="Reading", beat_ago=LAPSED, task_id=run.task_id)
    sync_runs_reap()
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED and "stopped while reading from the ERP" in task.traceback


def test_an_interrupted_publish_says_procore_may_have_part_of_it_and_offers_retry(refreshed, company, pm, signed_in):
    project = Project.objects.create(company=company, project_number="24001", name="Harbor Office Building")
    job = StagedJob.objects.get(job_code="24001")
    StagedJob.objects.filter(pk=job.pk).update(status=StagedJobStatus.SYNCED, project=project,
                                               publish_status=PublishStatus.PUBLISHING, publish_step="cost type assignments")
    run = SyncRun.objects.create(company=company, connection=refreshed, project=project, job=job, kind="publish")
    running(run, label="Publishing cost type assignments", beat_ago=LAPSED)
    sync_runs_reap()
    job.refresh_from_db()
    assert job.publish_status == PublishStatus.INTERRUPTED
    assert job.publish_error == ("The process doing it stopped while publishing cost type assignments; "
                                 "Procore may already have part of it. Retry finishes it without making anything twice.")
    page = signed_in(pm).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "Publish interrupted" in page and reverse("erp:job_publish", args=[job.pk]) in page


def test_erp_runs_lists_runs_with_their_status_step_lease_and_reason(connection, accountant):
    stuck = running(erp_refresh_enqueue(connection=connection, user=accountant), label="Saving", beat_ago=LAPSED)
    sync_runs_reap()
    alive = running(erp_refresh_enqueue(connection=connection, user=accountant), label="Reading: 3 jobs")
    out = StringIO()
    call_command("erp_runs", "--json", stdout=out)
    rows = {row["id"]: row for row in json.loads(out.getvalue())}
    assert rows[stuck.pk]["status"] == "interrupted" and rows[stuck.pk]["reason"].startswith("The process doing it stopped")
    assert (rows[alive.pk]["status"], rows[alive.pk]["step"], rows[alive.pk]["connection"]) == ("running", "Reading: 3 jobs", "CMiC")
    assert 0 <= rows[alive.pk]["lease_age_seconds"] < 60
    out = StringIO()
    call_command("erp_runs", "--status", "interrupted", stdout=out)
    assert out.getvalue().splitlines()[-1] == "1 run." and "Start the refresh again." in out.getvalue()


def test_a_run_whose_process_is_still_there_is_not_taken_for_dead(connection, accountant):
    """On SQLite another connection's long write can hold back a lease; a process of this machine is asked directly."""
    import subprocess
    import sys

    from erpsync.erp.services.runs import this_process

    alive = running(erp_refresh_enqueue(connection=connection, user=accountant), label="Saving", beat_ago=LAPSED)
    SyncRun.objects.filter(pk=alive.pk).update(worker=this_process())
    assert sync_runs_reap() == []
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    SyncRun.objects.filter(pk=alive.pk).update(worker=f"{this_process().rpartition(':')[0]}:{gone}")
    (reaped,) = sync_runs_reap()
    assert reaped.pk == alive.pk


def test_an_import_run_names_its_job(refreshed, pm):
    from erpsync.erp.services import erp_job_import

    job = StagedJob.objects.get(job_code="24001")
    erp_job_import(job=job, template=None, user=pm)
    out = StringIO()
    call_command("erp_runs", "--json", stdout=out)
    (row,) = [r for r in json.loads(out.getvalue()) if r["kind"] == "import"]
    assert (row["job"], row["status"], row["lease_age_seconds"]) == ("24001", "succeeded", None)
