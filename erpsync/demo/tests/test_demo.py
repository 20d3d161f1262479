import filecmp

from django.conf import settings
from django.core.management import call_command

from erpsync.demo import generator
from erpsync.erp.models import StagedJob, StagedJobStatus, SyncRun
from erpsync.erp.services import erp_job_import
from erpsync.projects.models import Project


def test_the_committed_demo_export_is_what_the_generator_makes(tmp_path):
    counts = generator.generate(tmp_path)
    names = sorted(p.name for p in settings.DEMO_EXPORT_DIR.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(settings.DEMO_EXPORT_DIR, tmp_path, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert counts["jobs"] >= 40 and counts["cost_transactions"] > 0


def test_the_demo_loads_once_and_shows_its_blocked_jobs(db):
    call_command("demo_load", verbosity=0)
    call_command("demo_load", verbosity=0)  # running it again keeps what is there
    assert SyncRun.objects.filter(kind="refresh").count() == 1
    jobs = StagedJob.objects.filter(controlling_code="")
    assert jobs.count() >= 40 and StagedJob.objects.exclude(controlling_code="").exists()
    blocked = {j.job_code: [p["code"] for p in j.problems] for j in jobs if j.problems}
    assert blocked == {
        generator.JOB_WITHOUT_CATEGORY: ["cost_code_without_cost_type"],
        generator.JOB_WITH_DOT_CODES: ["unsupported_delimiter"],
        generator.JOB_COLLIDING_WITH_PROJECT: ["number_taken"],
    }
    assert StagedJob.objects.get(job_code=generator.LARGE_JOB).cost_code_count >= 2000


def test_the_demo_project_manager_adds_the_large_job(db, django_user_model):
    call_command("demo_load", verbosity=0)
    pm = django_user_model.objects.get(username="pm")
    project = erp_job_import(job=StagedJob.objects.get(job_code=generator.LARGE_JOB), template=None, user=pm)
    assert project.cost_codes.count() >= 2000
    assert StagedJob.objects.get(job_code=generator.LARGE_JOB).status == StagedJobStatus.SYNCED
    assert Project.objects.filter(project_number=generator.LARGE_JOB).count() == 1
