"""Job-cost sync: re-pull a synced project's budgets and posted costs, update what changed."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from erpsync.connectors.base import job_costs_from
from erpsync.erp.models import StagedJob, StagedJobStatus, SyncRun, SyncRunKind
from erpsync.erp.services.importing import JOB_COST_FIGURES, job_cost_figures
from erpsync.erp.services.runs import sync_run_recording
from erpsync.errors import ApplicationError
from erpsync.projects.bulk import gc_paused
from erpsync.projects.models import BudgetLine, CostTransaction, JobCost, Project



def job_costs_sync(*, project: Project, user=None, run: SyncRun | None = None, progress=None) -> SyncRun:
    jobs = list(StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED).select_related("connection"))
    control = next((j for j in jobs if not j.controlling_code), None)
    if control is None:
        raise ApplicationError(f"Project {project.project_number} is not linked to an ERP job, so it has no job costs to sync.")
    with (
        sync_run_recording(company=project.company, kind=SyncRunKind.JOB_COSTS, connection=control.connection, user=user, project=project, run=run, progress=progress) as (run, report),
        gc_paused(),
    ):
        source = control.connection.source()
        codes = {j.job_code for j in jobs}
        report(0, 3, "Reading budgets")
        lines = [l for l in source.budget_lines(job_codes=codes) if l.company_code == control.erp_company_code]
        report(1, 3, "Reading posted costs")
        transactions = [t for t in source.cost_transactions(job_codes=codes) if t.company_code == control.erp_company_code]
        report(2, 3, "Updating job costs")
        with transaction.atomic():
            run.counts = _apply(project, control.job_code, lines, transactions)
            StagedJob.objects.filter(pk__in=[j.pk for j in jobs]).update(last_job_cost_sync_at=timezone.now())
    return run


def _apply(project: Project, control_code: str, lines, transactions) -> dict:
    local = {}
    for bl in BudgetLine.objects.filter(project=project).select_related("cost_code__sub_job", "cost_type", "job_cost"):
        job_code = bl.cost_code.sub_job.code if bl.cost_code.sub_job else control_code
        local[(job_code, bl.cost_code.code, bl.cost_type.code)] = bl
    now = timezone.now()
    by_job = defaultdict(lambda: ([], []))
    for l in lines:
        by_job[l.job_code][0].append(l)
    for t in transactions:
        by_job[t.job_code][1].append(t)

    changed, not_in_project = [], 0
    for job_code, (job_lines, job_tx) in by_job.items():
        for f in job_costs_from(job_lines, job_tx, as_of=timezone.localdate(now)):
            bl = local.get((job_code, f.phase_code, f.category_code))
            if bl is None:
                not_in_project += 1
                continue
            new = job_cost_figures(f)
            jc = bl.job_cost
            if any(getattr(jc, k) != v for k, v in new.items()):
                for k, v in new.items():
                    setattr(jc, k, v)
                jc.as_of = now
                changed.append(jc)
    JobCost.objects.bulk_update(changed, [*JOB_COST_FIGURES, "as_of"], batch_size=2000)

    known = set(CostTransaction.objects.filter(budget_line__project=project).values_list("budget_line_id", "erp_key"))
    new_rows = []
    for t in transactions:
        bl = local.get((t.job_code, t.phase_code, t.category_code))
        if bl is None or (bl.pk, t.number) in known:
            continue
        new_rows.append(CostTransaction(
            budget_line=bl, erp_key=t.number, date=t.posted_on, amount=t.amount, units=t.units,
            source=t.source[:20], reference=t.reference[:80],
        ))
    CostTransaction.objects.bulk_create(new_rows, batch_size=5000)
    return {"job_costs_changed": len(changed), "cost_transactions_added": len(new_rows), "budget_lines_not_in_project": not_in_project}
