"""/healthz tells a probe, without signing in and without names, whether erpsync can do its work."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from erpsync.erp.models import SyncRun
from erpsync.erp.services import erp_refresh_enqueue


def test_it_answers_without_a_session_with_ages_and_counts_only(client, refreshed):
    SyncRun.objects.create(company=refreshed.company, connection=refreshed, kind="job_costs", outcome="interrupted",
                           finished_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok" and body["database"] and body["migrations_applied"]
    assert body["oldest_queued_task_age_seconds"] is None and body["interrupted_runs_last_day"] == 1
    (only,) = body["connections"]
    assert 0 <= only["last_refresh_age_seconds"] < 60 and only["last_job_cost_sync_age_seconds"] is None
    assert refreshed.name not in response.content.decode() and refreshed.company.name not in response.content.decode()


def test_it_fails_when_tasks_wait_longer_than_a_worker_would_let_them(client, connection, accountant, settings,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = erp_refresh_enqueue(connection=connection, user=accountant)
    run.refresh_from_db()
    DBTaskResult.objects.filter(id=run.task_id).update(enqueued_at=timezone.now() - timedelta(minutes=11))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "failing" and response.json()["oldest_queued_task_age_seconds"] >= 660
    settings.HEALTH_QUEUE_SECONDS = 3600
    assert client.get("/healthz").status_code == 200


def test_a_database_not_yet_migrated_is_told_apart_from_one_that_is_down(client, db, monkeypatch):
    monkeypatch.setattr("erpsync.health._migrations_applied", lambda: False)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json() == {"status": "failing", "database": True, "migrations_applied": False}
