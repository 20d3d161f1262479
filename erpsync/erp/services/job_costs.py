"""Job-cost sync: re-pull a synced project's budgets and posted costs, update what changed.

Sources that filter by change date are asked only for what changed since the last sync (with an
overlap); job-to-date figures are then summed from all the posted costs stored for the project,
so a partial pull can never lose money that an earlier pull brought.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from erpsync.companies.models import Membership
from erpsync.companies.permissions import SYNC_REQUIREMENT, can_refresh_erp
from erpsync.erp.models import StagedJob, StagedJobStatus, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.erp.services.importing import JOB_COST_FIGURES
from erpsync.erp.services.publish import procore_push_job_costs
from erpsync.erp.services.runs import sync_run_enqueue, sync_run_recording, sync_runs_reap
from erpsync.errors import ApplicationError, PermissionRefused
from erpsync.projects.amounts import MONEY, QUANTITY, exact_sum, money, quantity
from erpsync.projects.bulk import bulk_insert
from erpsync.projects.models import BudgetLine, CostTransaction, JobCost, Project

OVERLAP = timedelta(minutes=15)
ZERO_SUMS = {"cost": 0, "units": 0, "month": 0}


def job_costs_sync(*, project: Project, user=None, run: SyncRun | None = None, progress=None) -> SyncRun:
    jobs = list(StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED).select_related("connection"))
    control = next((j for j in jobs if not j.controlling_code), None)
    if control is None:
        raise ApplicationError(f"Project {project.project_number} is not linked to an ERP job, so it has no job costs to sync.")
    with sync_run_recording(company=project.company, kind=SyncRunKind.JOB_COSTS, connection=control.connection, user=user,
                            project=project, run=run, progress=progress) as (run, report):
        source = control.connection.source()
        codes = {j.job_code for j in jobs}
        last = [j.last_job_cost_sync_at for j in jobs]
        since = min(last) - OVERLAP if getattr(source, "supports_since", False) and all(last) else None
        started = timezone.now()
        report(0, 3, "Reading budgets")
        lines = [l for l in source.budget_lines(since=since, job_codes=codes) if l.company_code == control.erp_company_code]
        report(1, 3, "Reading posted costs")
        transactions = [t for t in source.cost_transactions(since=since, job_codes=codes) if t.company_code == control.erp_company_code]
        report(2, 3, "Updating job costs")
        with transaction.atomic():
            run.counts = _apply(project, control.job_code, lines, transactions)
            StagedJob.objects.filter(pk__in=[j.pk for j in jobs]).update(last_job_cost_sync_at=started)
        run.counts["incremental"] = since is not None
        run.counts["pushed_to_procore"] = procore_push_job_costs(job=control)
    return run


def _apply(project: Project, control_code: str, lines, transactions) -> dict:
    local = {}
    for bl in BudgetLine.objects.filter(project=project, from_erp=True).select_related("cost_code__sub_job", "cost_type", "job_cost"):
        job_code = bl.cost_code.sub_job.code if bl.cost_code.sub_job else control_code
        local[(job_code, bl.cost_code.code, bl.cost_type.code)] = bl

    # Posted costs already read are skipped; one typed in by hand under the same key on the same line becomes the ERP's.
    known = set(CostTransaction.objects.filter(budget_line__project=project, from_erp=True).values_list("budget_line_id", "erp_key"))
    new_rows = []
    for t in transactions:
        bl = local.get((t.job_code, t.phase_code, t.category_code))
        if bl is None or (bl.pk, t.number) in known:
            continue
        known.add((bl.pk, t.number))
        new_rows.append((bl.pk, t.number, t.posted_on, money(t.amount, t.where), quantity(t.units, t.where), t.source, t.reference, True))
    # A posted cost on record but not counted (typed in by hand, or left by a job unlinked since) under the key the
    # ERP gives one of its own on the same line is that posting: the ERP's figures replace it, and what it said is returned.
    incoming = {(row[0], row[1]) for row in new_rows}
    replaced = [
        {"budget_line": line, "erp_key": key, "date": str(day), "amount": str(amount), "reference": reference}
        for line, key, day, amount, reference in CostTransaction.objects.filter(budget_line__project=project, from_erp=False)
        .values_list("budget_line_id", "erp_key", "date", "amount", "reference") if (line, key) in incoming
    ] if incoming else []
    bulk_insert(CostTransaction, ["budget_line", "erp_key", "date", "amount", "units", "source", "reference", "from_erp"], new_rows,
                update_conflicts=["budget_line", "erp_key"])

    updated, not_in_project = {}, 0
    for l in lines:
        bl = local.get((l.job_code, l.phase_code, l.category_code))
        if bl is None:
            not_in_project += 1
            continue
        updated[bl.pk] = {
            "original_budget": l.original_budget, "approved_changes": l.approved_changes,
            "revised_budget": l.original_budget + l.approved_changes, "committed_cost": l.committed_cost,
            "percent_complete": l.percent_complete,
        }

    today = timezone.localdate()
    month_start = today.replace(day=1)
    sums = {
        row["budget_line_id"]: row
        for row in CostTransaction.objects.filter(budget_line__project=project, budget_line__from_erp=True, from_erp=True).values("budget_line_id").annotate(
            cost=Sum("amount"), units=Sum("units"), month=Sum("amount", filter=Q(date__gte=month_start, date__lte=today)))
    }
    now = timezone.now()
    changed = []
    for bl in local.values():
        jc = bl.job_cost
        figures = dict(updated.get(bl.pk, {}))
        s = sums.get(bl.pk, ZERO_SUMS)
        figures |= {"job_to_date_cost": exact_sum(s["cost"], MONEY["decimal_places"]),
                    "job_to_date_units": exact_sum(s["units"], QUANTITY["decimal_places"]),
                    "month_to_date_cost": exact_sum(s["month"], MONEY["decimal_places"])}
        if any(getattr(jc, k) != v for k, v in figures.items()):
            for k, v in figures.items():
                setattr(jc, k, v)
            jc.as_of = now
            changed.append(jc)
    # One statement per row through the driver: the ORM's bulk_update builds a CASE per field and row,
    # which for a large job takes seconds.
    bulk_insert(JobCost, ["budget_line", *JOB_COST_FIGURES, "as_of"],
                ((jc.budget_line_id, *(getattr(jc, k) for k in JOB_COST_FIGURES), now) for jc in changed),
                update_conflicts=["budget_line"])
    return {"job_costs_changed": len(changed), "cost_transactions_added": len(new_rows) - len(replaced),
            "budget_lines_not_in_project": not_in_project, **({"posted_costs_replaced": replaced[:200]} if replaced else {})}


def job_costs_sync_enqueue(*, project: Project, user) -> SyncRun:
    """Queue a job-cost sync now (accounting approvers), besides the schedule."""
    from erpsync.erp.tasks import job_costs_sync_task

    if not can_refresh_erp(Membership.objects.filter(user=user, company=project.company).first()):
        raise PermissionRefused(SYNC_REQUIREMENT)
    sync_runs_reap(project=project, kind=SyncRunKind.JOB_COSTS)
    active = SyncRun.objects.filter(project=project, kind=SyncRunKind.JOB_COSTS,
                                    outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]).first()
    if active:
        return active
    control = StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED, controlling_code="").select_related("connection").first()
    if control is None:
        raise ApplicationError(f"Project {project.project_number} is not linked to an ERP job, so it has no job costs to sync.")
    run = SyncRun.objects.create(company=project.company, connection=control.connection, project=project,
                                 kind=SyncRunKind.JOB_COSTS, started_by=user)
    sync_run_enqueue(run, job_costs_sync_task, project.pk, run.pk)
    return run
