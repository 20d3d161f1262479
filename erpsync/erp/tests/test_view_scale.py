"""The Jobs and Projects pages cost the same few queries with 1 row or 50,000."""

from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from erpsync.erp.models import StagedJob
from erpsync.erp.selectors import JOB_SORTS
from erpsync.projects.models import Project

PAGES = [
    reverse("erp:jobs"),
    reverse("erp:jobs") + "?status=synced",
    reverse("erp:jobs") + "?sort=-start&q=1",
    reverse("projects:list"),
    reverse("projects:list") + "?q=Tower&page=2",
]


def queries_per_page(client) -> list[int]:
    counts = []
    for url in PAGES:
        with CaptureQueriesContext(db) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    return counts


def add_rows(company, connection, *, projects: int, jobs: int, start: int = 0) -> None:
    now = timezone.now()
    made = Project.objects.bulk_create(
        Project(company=company, project_number=f"P{i:05d}", name=f"Tower {i}", erp_kind="cmic_files", erp_company_code="AC01",
                erp_job_code=f"J{i:06d}") for i in range(start, start + projects)
    )
    StagedJob.objects.bulk_create(
        (StagedJob(company=company, connection=connection, erp_company_code="AC01", job_code=f"J{i:06d}", name=f"Job {i}",
                   start_date=now.date(), pulled_at=now, cost_code_count=i % 90,
                   status="synced" if i - start < projects else "ready", project=made[i - start] if i - start < projects else None)
         for i in range(start, start + jobs)),
        batch_size=5000,
    )


def test_pages_run_a_constant_number_of_queries_at_scale(signed_in, admin, refreshed, company):
    client = signed_in(admin)
    add_rows(company, refreshed, projects=1, jobs=2)
    few = queries_per_page(client)
    add_rows(company, refreshed, projects=5000, jobs=50_000, start=10)
    many = queries_per_page(client)
    assert many == few
    assert max(many) <= 13


def test_every_sort_of_the_jobs_list_has_an_index():
    indexed = {tuple(index.fields) for index in StagedJob._meta.indexes}
    for field in JOB_SORTS.values():
        assert ("company", "controlling_code", "status", field) in indexed, field
