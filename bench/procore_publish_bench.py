"""Procore publish benchmark: a job of 2,000 cost codes × 4 cost types, 50 ms added per request.

Prints the requests erpsync made, the minimum the batch limits allow, the number a client
sending one record per request would need, and the wall time.

    .venv/bin/python bench/procore_publish_bench.py
"""

import math
import time

from benchsetup import company_with_export, django_for_benchmarks

WORK = django_for_benchmarks("erpsync-procore-bench-")


from erpsync.connectors.procore.client import SYNC_BATCH  # noqa: E402
from erpsync.connectors.procore.fake_server import FakeProcore  # noqa: E402
from erpsync.demo import generator  # noqa: E402
from erpsync.erp.models import StagedJob  # noqa: E402
from erpsync.erp.services import erp_job_import  # noqa: E402
from erpsync.erp.services.publish import procore_publish  # noqa: E402
from erpsync.erp.services.settings import procore_connection_save  # noqa: E402
from erpsync.projects.models import BudgetLine, CostCode, CostType  # noqa: E402

LATENCY = 0.05


def main() -> None:
    export = WORK / "exports" / "bench" / "cmic"  # the company "bench" reads its export folder under the root
    generator.generate(export, generator.Plan(seed=5, large_job_phases=2000, categories_per_phase=(4, 4),
                                              transactions_per_line=(0, 0), problem_jobs=False, large_job_only=True))
    company, user = company_with_export(export)
    project = erp_job_import(job=StagedJob.objects.get(job_code=generator.LARGE_JOB), template=None, user=user)

    with FakeProcore() as fake:
        settings = fake.connection_settings()
        procore_connection_save(company=company, user=user, environment="custom", base_url=settings["base_url"],
                                login_url=settings["login_url"], procore_company_id=settings["company_id"],
                                client_id=settings["client_id"], client_secret=settings["client_secret"])
        fake.faults.latency = LATENCY
        started = time.perf_counter()
        procore_publish(job=StagedJob.objects.select_related("project", "connection", "company").get(job_code=generator.LARGE_JOB))
        elapsed = time.perf_counter() - started
        made = sum(fake.requests.values()) + 1  # and the token request
        assert fake.violations == [], fake.violations[:3]

    codes = list(CostCode.objects.filter(project=project, sub_job=None).values_list("parent_id", flat=True))
    depth_sizes = _level_sizes(project)
    lines = BudgetLine.objects.filter(project=project, cost_code__sub_job=None).count()
    types = CostType.objects.filter(company=company).count()
    minimum = (1 + 1 + 1  # token, find the project by origin_id, create it
               + math.ceil(types / SYNC_BATCH) + sum(math.ceil(n / SYNC_BATCH) for n in depth_sizes)
               + 2 * math.ceil(lines / SYNC_BATCH))
    one_by_one = 1 + 1 + 1 + types + len(codes) + 2 * lines
    print(f"published: {len(codes)} cost codes in {len(depth_sizes)} levels {depth_sizes}, {types} cost types, {lines} assignments and job costs")
    print(f"requests: {made} (minimum the 1,000-item batches allow: {minimum}); one record per request: {one_by_one}")
    print(f"wall time with {LATENCY * 1000:.0f} ms per request: {elapsed:.1f} s "
          f"(one record per request would spend {one_by_one * LATENCY / 60:.0f} min in latency alone)")


def _level_sizes(project) -> list[int]:
    parents = dict(CostCode.objects.filter(project=project, sub_job=None).values_list("pk", "parent_id"))
    depth = {}

    def level(pk):
        if pk not in depth:
            depth[pk] = 0 if parents[pk] is None else level(parents[pk]) + 1
        return depth[pk]

    sizes = {}
    for pk in parents:
        sizes[level(pk)] = sizes.get(level(pk), 0) + 1
    return [sizes[d] for d in sorted(sizes)]


if __name__ == "__main__":
    main()
