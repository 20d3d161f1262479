"""Linking the demo's 2,128-code job to a project typed in by hand, refreshing its cost codes, and ranking suggestions.

Prints the time each takes on SQLite (median of 3 for the repeatable ones):

- link: the job merged into a project that has none of its codes (the most it writes), and into
  one that has them all (a link after an unlink: it writes nothing but job costs);
- Refresh cost codes: the preview, and applying it after the ERP gained 100 phases;
- suggestions among 5,000 projects not linked to any job.

    .venv/bin/python bench/link_bench.py
"""

import statistics
import time

from benchsetup import company_with_export, django_for_benchmarks

WORK = django_for_benchmarks("erpsync-link-bench-")

from django.db import connection as db  # noqa: E402

from erpsync.companies.models import AccessLevel, Membership  # noqa: E402
from erpsync.demo import generator  # noqa: E402
from erpsync.erp.models import StagedJob  # noqa: E402
from erpsync.erp.services import cost_codes_preview, cost_codes_refresh, erp_job_link, erp_job_unlink, link_suggestions  # noqa: E402
from erpsync.projects.models import BudgetLine, CostCode, CostTransaction, Project  # noqa: E402


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    export = WORK / "exports" / "bench" / "cmic"
    generator.generate(export, generator.Plan())
    company, user = company_with_export(export)
    Membership.objects.filter(user=user).update(erp_level=AccessLevel.ADMIN, can_push_to_accounting=True)
    job = StagedJob.objects.select_related("connection", "company").get(job_code=generator.LARGE_JOB)
    project = Project.objects.create(company=company, project_number="H-1", name="Typed in by hand")

    seconds = timed(lambda: erp_job_link(job=job, project=project, user=user))
    print(f"link job {job.job_code} into an empty project: {seconds:.2f} s "
          f"({CostCode.objects.filter(project=project).count():,} cost codes, {BudgetLine.objects.filter(project=project).count():,} "
          f"budget lines, {CostTransaction.objects.filter(budget_line__project=project).count():,} posted costs written)")
    again = []
    for _ in range(3):
        erp_job_unlink(job=job, user=user)
        again.append(timed(lambda: erp_job_link(job=StagedJob.objects.get(pk=job.pk), project=project, user=user)))
    print(f"link it again after an unlink (everything matched): {statistics.median(again):.2f} s")

    previews = [timed(lambda: cost_codes_preview(project=project, user=user)) for _ in range(3)]
    print(f"Refresh cost codes, preview with nothing new: {statistics.median(previews):.2f} s")
    codes = export / "jcjobcostcodes.csv"
    lines = export / "jcjobcategory.csv"
    with open(codes, "a", encoding="utf-8") as c, open(lines, "a", encoding="utf-8") as bl:
        for n in range(100):
            c.write(f"DB01,{job.job_code},99-{n:03},Added phase {n},99,Y\n")
            bl.write(f"DB01,{job.job_code},99-{n:03},1000,Y,10.00,0,0,0,0\n")
        c.write(f"DB01,{job.job_code},99,Added division,ALL,Y\n")
    seconds = timed(lambda: cost_codes_refresh(project=project, user=user))
    print(f"Refresh cost codes, applying 101 new phases: {seconds:.2f} s")

    Project.objects.bulk_create(Project(company=company, project_number=f"P-{n:05}", name=f"Project {n} {'Harbor' if n % 7 else 'Depot'}",
                                        city="Boston") for n in range(5000))
    other = StagedJob.objects.select_related("connection", "company").filter(status="ready", controlling_code="").first()
    ranks = [timed(lambda: link_suggestions(other)) for _ in range(3)]
    print(f"suggestions among {Project.objects.filter(erp_job_code='').count():,} unlinked projects: {statistics.median(ranks) * 1000:.0f} ms")
    print(f"database: {db.vendor}")


if __name__ == "__main__":
    main()
