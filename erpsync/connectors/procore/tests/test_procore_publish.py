"""Publishing imported jobs to the fake Procore: exactly once, whatever fails along the way."""

import pytest
from django.core.management import call_command

from erpsync.connectors.procore.fake_server import SCHEMA_FILE
from erpsync.erp.models import PublishStatus, StagedJob, SyncRun
from erpsync.erp.services import erp_job_import, erp_refresh
from erpsync.erp.services.publish import procore_publish
from erpsync.errors import ApplicationError
from erpsync.projects.models import BudgetLine, CostCode

STEP_OPERATIONS = ["RestV10ProjectsPost", "RestV10SubJobsSyncPatch", "RestV10LineItemTypesSyncPatch", "RestV10CostCodesSyncPatch",
                   "cost_code_line_item_types", "erp_job_costs"]


def work_the_queue():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def in_procore(procore, project):
    pid = project.procore_id
    return {
        "projects": len(procore.projects),
        "cost_codes": len(procore.cost_codes.get(pid, {})),
        "assignments": len(procore.assignments.get(pid, {})),
        "job_costs": sum(len(v) for v in procore.job_costs.values()),
    }


def expected(project):
    local = CostCode.objects.filter(project=project).count()
    lines = BudgetLine.objects.filter(project=project).count()
    return {"projects": 1, "cost_codes": local, "assignments": lines, "job_costs": lines}


@pytest.fixture
def imported(connection, export, pm, procore_connection):
    """Job 24001 with a sub job, added as a project; its publish is queued, not yet run."""
    export.job("24001-01", "Site work", controlling="24001")
    export.phase("24001-01", "03", "Concrete").phase("24001-01", "03-300", "Footings", "03").line("24001-01", "03-300", "L", "10.00")
    export.write()
    erp_refresh(connection=connection)
    project = erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    return StagedJob.objects.select_related("project", "connection", "company").get(job_code="24001"), project


def publish(job):
    job = StagedJob.objects.select_related("project", "connection", "company").get(pk=job.pk)
    procore_publish(job=job)
    job.refresh_from_db()
    job.project.refresh_from_db()
    return job


def test_requests_and_responses_follow_procores_schemas(imported, procore):
    if not SCHEMA_FILE.exists():
        pytest.skip(f"Procore's schemas are not at {SCHEMA_FILE}; the contract is checked where they are.")
    job, project = imported
    job = publish(job)
    assert procore.schemas is not None and procore.violations == []
    assert job.publish_status == PublishStatus.PUBLISHED


@pytest.mark.django_db(transaction=True)
def test_an_import_publishes_the_job_in_the_background(imported, procore):
    job, project = imported
    assert job.publish_status == PublishStatus.PUBLISHING
    work_the_queue()
    job.refresh_from_db()
    project.refresh_from_db()
    assert job.publish_status == PublishStatus.PUBLISHED and project.procore_id
    assert in_procore(procore, project) == expected(project)
    created = next(iter(procore.projects.values()))
    assert (created["project_number"], created["origin_id"], created["origin_code"]) == ("24001", "cmic_files:AC01:24001", "24001")
    (run,) = SyncRun.objects.filter(kind="publish")
    assert (run.outcome, run.project_id, run.task_id != "") == ("succeeded", project.pk, True)
    codes = procore.cost_codes[project.procore_id]
    section = codes["cmic_files:AC01:24001:code:03-300"]
    assert section["code"] == "300" and section["parent_id"] == codes["cmic_files:AC01:24001:code:03"]["id"]


@pytest.mark.django_db(transaction=True)
def test_each_imported_job_gets_a_publish_of_its_own(connection, export, pm, procore_connection, procore):
    export.standard_job("24002", "Second").write()
    erp_refresh(connection=connection)
    projects = [erp_job_import(job=StagedJob.objects.get(job_code=code), template=None, user=pm) for code in ("24001", "24002")]
    assert sorted(SyncRun.objects.filter(kind="publish", outcome="queued").values_list("project_id", flat=True)) == sorted(
        p.pk for p in projects)
    work_the_queue()
    assert set(StagedJob.objects.values_list("publish_status", flat=True)) == {PublishStatus.PUBLISHED}
    assert sorted(p["project_number"] for p in procore.projects.values()) == ["24001", "24002"]


@pytest.mark.parametrize("operation", STEP_OPERATIONS)
def test_a_publish_that_fails_at_any_step_resumes_without_duplicates(imported, procore, operation):
    job, project = imported
    procore.faults.fail_next[operation] = 99
    with pytest.raises(ApplicationError, match="Procore kept answering HTTP 503"):
        publish(job)
    job.refresh_from_db()
    assert job.publish_status == PublishStatus.FAILED and "503" in job.publish_error
    procore.faults.fail_next.clear()
    job = publish(job)
    assert job.publish_status == PublishStatus.PUBLISHED
    assert in_procore(procore, job.project) == expected(job.project)
    job = publish(job)  # and once more: still nothing twice
    assert in_procore(procore, job.project) == expected(job.project)


def test_a_failure_says_what_procore_has_now_and_what_retry_will_do(imported, procore):
    job, project = imported
    procore.faults.fail_next["cost_code_line_item_types"] = 99
    with pytest.raises(ApplicationError):
        publish(job)
    job.refresh_from_db()
    codes = CostCode.objects.filter(project=project).count()
    assert job.publish_error.startswith(f"Procore has the project, 1 sub job and {codes} cost codes; the cost type assignments "
                                        "failed: Procore kept answering HTTP 503")
    assert job.publish_error.endswith("Retry sends only what is left.") and "nothing was changed" not in job.publish_error
    assert SyncRun.objects.get(kind="publish", outcome="failed").error == job.publish_error  # Sync History says the same


def test_retrying_a_job_that_is_fully_published_sends_nothing(imported, procore):
    job, _ = imported
    publish(job)
    procore.requests.clear()
    job = publish(job)
    assert job.publish_status == PublishStatus.PUBLISHED and sum(procore.requests.values()) == 0


def test_a_publish_killed_after_procore_made_the_project_finds_it_again(imported, procore):
    job, project = imported
    publish(job)
    project.refresh_from_db()
    type(project).objects.filter(pk=project.pk).update(procore_id=None)  # the id never reached our database
    CostCode.objects.filter(project=project).update(procore_id=None)
    job = publish(job)
    assert len(procore.projects) == 1 and job.project.procore_id == next(iter(procore.projects))
    assert in_procore(procore, job.project) == expected(job.project)


def test_a_429_storm_is_waited_out(imported, procore, waits):
    job, _ = imported
    procore.faults.storm = [3, 7]
    assert publish(job).publish_status == PublishStatus.PUBLISHED
    assert waits[:3] == [7.0, 7.0, 7.0]


def test_items_procore_refuses_are_named(refreshed, pm, procore_connection, procore, export, connection):
    export.phase("24001", "03-500", "A" * 110, "03").line("24001", "03-500", "L", "1.00")
    export.write()
    erp_refresh(connection=connection)
    erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    job = StagedJob.objects.get(job_code="24001")
    with pytest.raises(ApplicationError, match=r"cost code 03-500: name is too long \(maximum is 100 characters\)"):
        publish(job)
    job.refresh_from_db()
    assert job.publish_status == PublishStatus.FAILED and "03-500" in job.publish_error
    assert SyncRun.objects.filter(kind="publish", outcome="failed").exists()


def test_a_token_that_expires_mid_publish_is_renewed(imported, procore):
    job, _ = imported
    procore.faults.expire_tokens_after = 3
    assert publish(job).publish_status == PublishStatus.PUBLISHED
    assert len(procore.tokens) == 1  # the expired token is gone, one new one was issued


def test_a_company_without_procore_is_unaffected(refreshed, pm):
    erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    job = StagedJob.objects.get(job_code="24001")
    assert job.publish_status == PublishStatus.NONE
    procore_publish(job=job)  # nothing to do, nothing fails
    assert not SyncRun.objects.filter(kind="publish").exists()


def test_the_template_list_follows_procores_pages(procore_connection, procore):
    procore.templates = [{"id": 900 + n, "name": f"Template {n}"} for n in range(230)]
    templates = procore_connection.client().project_templates()
    assert len(templates) == 230 and procore.requests["RestV10ProjectTemplatesGet"] == 3


def test_the_demo_large_job_is_published_end_to_end_in_the_fewest_requests(db, procore, connect_procore, django_user_model):
    import math

    from erpsync.demo import generator
    from erpsync.demo.services import demo_load

    connect_procore(demo_load())
    pm = django_user_model.objects.get(username="pm")
    project = erp_job_import(job=StagedJob.objects.get(job_code=generator.LARGE_JOB), template=None, user=pm)
    job = publish(StagedJob.objects.get(job_code=generator.LARGE_JOB))
    assert job.publish_status == PublishStatus.PUBLISHED and job.project == project
    assert in_procore(procore, job.project) == expected(job.project)
    lines = expected(job.project)["assignments"]
    assert procore.requests["RestV10CostCodesSyncPatch"] == 4  # 16 divisions, 1 call; sections, 1; 2,000 items, 2
    assert procore.requests["cost_code_line_item_types"] == procore.requests["erp_job_costs"] == math.ceil(lines / 1000)
    assert procore.violations == []


def test_a_job_cost_sync_pushes_only_the_job_costs_that_changed(imported, procore, export, connection):
    from erpsync.erp.services import job_costs_sync

    job, project = imported
    publish(job)
    before = dict(procore.job_costs["cmic_files:AC01:24001"])
    export.rows["budget_lines"][0]["committed_cost"] = "8500.00"
    export.write()
    procore.requests.clear()
    run = job_costs_sync(project=project)
    assert run.counts["pushed_to_procore"] == 1 and procore.requests["erp_job_costs"] == 1
    after = procore.job_costs["cmic_files:AC01:24001"]
    changed = [key for key in after if after[key] != before[key]]
    assert len(changed) == 1 and after[changed[0]]["committed_costs"] == "8500.00"
    assert job_costs_sync(project=project).counts["pushed_to_procore"] == 0


def test_it_slows_down_before_the_rate_limit_runs_out(imported, waits, monkeypatch):
    from erpsync.connectors.procore.fake_server import FakeProcore
    from erpsync.erp.models import ProcoreConnection

    with FakeProcore(rate_limit=12) as fake:
        def wait_for_the_window(seconds):
            waits.append(seconds)
            fake.used = 0  # the hourly window has passed

        monkeypatch.setattr("erpsync.connectors.http.wait_for_real", wait_for_the_window)
        settings = fake.connection_settings()
        ProcoreConnection.objects.update(base_url=settings["base_url"], login_url=settings["login_url"])
        job, project = imported
        assert publish(job).publish_status == PublishStatus.PUBLISHED
        assert waits and all(w > 3000 for w in waits)  # it waited for the reset instead of spending the last requests
        assert fake.requests.get("RestV11ProjectsGet") == 1


def test_a_refusal_is_not_retried(procore_connection, procore):
    from erpsync.connectors.procore.client import ProcoreError

    client = procore_connection.client()
    client.project_create({"name": "One", "origin_id": "x:1"})
    with pytest.raises(ProcoreError, match=r"HTTP 422\): origin_id has already been taken"):
        client.project_create({"name": "Two", "origin_id": "x:1"})
    assert procore.requests["RestV10ProjectsPost"] == 2


def test_sub_jobs_are_published_with_their_own_cost_codes(imported, procore):
    job = publish(imported[0])
    project = job.project
    assert in_procore(procore, project) == expected(project) == {"projects": 1, "cost_codes": 5, "assignments": 4, "job_costs": 4}
    sub_job = procore.sub_jobs[project.procore_id]["cmic_files:AC01:24001-01"]
    footings = procore.cost_codes[project.procore_id]["cmic_files:AC01:24001:24001-01:code:03-300"]
    assert (footings["sub_job_id"], footings["code"]) == (sub_job["id"], "300")


@pytest.mark.parametrize("answer", [b"<html>Bad gateway</html>", b'["not", "an", "object"]', b'{"entities": "none"}'])
def test_an_unexpected_answer_is_a_plain_error_naming_the_step_and_quoting_procore(imported, procore, answer):
    job, _ = imported
    procore.faults.raw_answer["RestV10CostCodesSyncPatch"] = answer
    with pytest.raises(ApplicationError) as refused:
        publish(job)
    message = refused.value.message
    assert "the cost codes failed: Procore answered the cost codes sync" in message and answer.decode()[:12] in message
    assert "Error" not in message and "unexpected" not in message
