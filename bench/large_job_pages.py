"""Pages of a large job: the project page and the job-cost report of the demo's 2,128-code job.

Prints, for each page, its size and the server's time to answer (median of 5, after one warm-up),
as the browser first gets it and with one division expanded. The bar: at most 300 KB and 300 ms.

    .venv/bin/python bench/large_job_pages.py
"""

import statistics
import time

from benchsetup import company_with_export, django_for_benchmarks

WORK = django_for_benchmarks("erpsync-pages-bench-")

from django.test import Client  # noqa: E402

from erpsync.demo import generator  # noqa: E402
from erpsync.erp.models import StagedJob  # noqa: E402
from erpsync.erp.services import erp_job_import  # noqa: E402
from erpsync.projects.models import BudgetLine, CostCode  # noqa: E402

KB = 1024
BAR_BYTES, BAR_SECONDS = 300 * KB, 0.300


def measure(client: Client, url: str, **headers) -> tuple[int, float]:
    client.get(url, secure=True, **headers)  # warm-up
    times, size = [], 0
    for _ in range(5):
        started = time.perf_counter()
        response = client.get(url, secure=True, **headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.content)
    return size, statistics.median(times)


def main() -> None:
    export = WORK / "exports" / "bench" / "cmic"
    generator.generate(export, generator.Plan())
    company, user = company_with_export(export)
    job = StagedJob.objects.get(job_code=generator.LARGE_JOB)
    project = erp_job_import(job=job, template=None, user=user)
    codes = CostCode.objects.filter(project=project).count()
    lines = BudgetLine.objects.filter(project=project).count()
    division = CostCode.objects.filter(project=project, parent=None).order_by("code").first()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    print(f"job {job.job_code}: {codes:,} cost codes, {lines:,} budget lines")
    pages = [
        ("project page", f"/projects/{project.pk}/", {}),
        ("project page, one division's cost codes (htmx)", f"/projects/{project.pk}/?division={division.pk}&part=codes",
         {"HTTP_HX_REQUEST": "true"}),
        ("project page, one division's job costs (htmx)", f"/projects/{project.pk}/?division={division.pk}&part=costs",
         {"HTTP_HX_REQUEST": "true"}),
        ("project page, cost codes matching '100'", f"/projects/{project.pk}/?q=100", {}),
        ("job-cost report", f"/erp/job-costs/?project={project.pk}", {}),
        ("job page", f"/erp/jobs/{job.pk}/", {}),
    ]
    failed = False
    for label, url, headers in pages:
        size, seconds = measure(client, url, **headers)
        ok = size <= BAR_BYTES and seconds <= BAR_SECONDS
        failed |= not ok
        print(f"{label:50} {size / KB:8.1f} KB {seconds * 1000:7.0f} ms  {'ok' if ok else 'OVER THE BAR'}")
    print(f"bar: at most {BAR_BYTES // KB} KB and {BAR_SECONDS * 1000:.0f} ms each")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
