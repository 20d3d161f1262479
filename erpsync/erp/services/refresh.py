"""Refresh: pull the ERP's jobs, phases and categories into staging, all or nothing."""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from erpsync.companies.models import Membership
from erpsync.companies.permissions import REFRESH_REQUIREMENT, can_refresh_erp
from erpsync.connectors.base import ConnectorError, JobRecord
from erpsync.erp.models import (
    AuditEvent,
    ErpConnection,
    StagedBudgetLine,
    StagedCostCode,
    StagedCostType,
    StagedJob,
    StagedJobStatus,
    SyncRun,
    SyncRunKind,
)
from erpsync.erp.services.runs import sync_run_recording
from erpsync.erp.services.validate import JobShape, problems_for
from erpsync.errors import PermissionRefused
from erpsync.projects.amounts import money, quantity
from erpsync.projects.bulk import gc_paused
from erpsync.projects.models import Project

CHUNK = 2000
JOB_FIELDS = ("controlling_code", "name", "erp_status", "address", "city", "state", "zip", "start_date", "end_date")


def _job_values(r: JobRecord) -> dict:
    return {
        "controlling_code": r.controlling_code,
        "name": r.name,
        "erp_status": r.status,
        "address": r.address,
        "city": r.city,
        "state": r.state,
        "zip": r.zip,
        "start_date": r.start_date,
        "end_date": r.end_date,
    }


def _jsonable(values: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def _unique(records, what: str):
    """Index records by key; a key seen twice is an error naming both places."""
    seen = {}
    for r in records:
        if r.key in seen:
            raise ConnectorError(f"{r.where} repeats the {what} {' / '.join(r.key)} already given at {seen[r.key].where}.")
        seen[r.key] = r
    return seen


def _pull(source, progress):
    """Read everything a refresh needs and check it hangs together, before anything is written."""
    progress(0, 4, "Reading cost types")
    cost_types = _unique(source.cost_types(), "category")
    progress(1, 4, "Reading jobs")
    jobs = _unique(source.jobs(), "job")
    progress(2, 4, "Reading cost codes")
    codes: dict[tuple, list] = defaultdict(list)
    seen_codes = {}
    for r in source.cost_codes():
        if r.key in seen_codes:
            raise ConnectorError(f"{r.where} repeats the cost code {r.code} of job {r.job_code} already given at {seen_codes[r.key]}.")
        seen_codes[r.key] = r.where
        if (r.company_code, r.job_code) not in jobs:
            raise ConnectorError(f"{r.where}: cost code {r.code} belongs to job {r.job_code}, which the jobs list does not have.")
        codes[(r.company_code, r.job_code)].append(r)
    progress(3, 4, "Reading budget lines")
    lines: dict[tuple, list] = defaultdict(list)
    seen_lines = {}
    for r in source.budget_lines():
        if r.key in seen_lines:
            raise ConnectorError(f"{r.where} repeats cost code {r.phase_code} × category {r.category_code} of job {r.job_code}, already given at {seen_lines[r.key]}.")
        seen_lines[r.key] = r.where
        for amount in (r.original_budget, r.approved_changes, r.committed_cost):
            money(amount, r.where)
        quantity(r.budget_units, r.where)
        if (r.company_code, r.category_code) not in cost_types:
            raise ConnectorError(f"{r.where}: category {r.category_code} is not one of the company's categories.")
        if (r.company_code, r.job_code, r.phase_code) not in seen_codes:
            raise ConnectorError(f"{r.where}: cost code {r.phase_code} is not a cost code of job {r.job_code}.")
        lines[(r.company_code, r.job_code)].append(r)
    del seen_codes, seen_lines
    progress(4, 4, "Read")
    return cost_types, jobs, codes, lines


def erp_refresh(*, connection: ErpConnection, user=None, run: SyncRun | None = None, progress=None) -> SyncRun:
    """Pull jobs into staging: new → Ready to Import, changed → updated, archived and synced stay.

    `user` is None for scheduled and command-line refreshes run by the system.
    """
    company = connection.company
    if user is not None:
        membership = Membership.objects.filter(user=user, company=company).first()
        if not can_refresh_erp(membership):
            raise PermissionRefused(REFRESH_REQUIREMENT)

    with (
        sync_run_recording(company=company, kind=SyncRunKind.REFRESH, connection=connection, user=user, run=run, progress=progress) as (run, report),
        gc_paused(),
    ):
        cost_types, jobs, codes, lines = _pull(connection.source(), report)
        now = timezone.now()
        with transaction.atomic():
            counts = _apply(connection, user, now, cost_types, jobs, codes, lines, report)
            run.counts = counts
    return run


def _apply(connection, user, now, cost_types, jobs, codes, lines, report) -> dict:
    company = connection.company
    existing = {(j.erp_company_code, j.job_code): j for j in StagedJob.objects.filter(connection=connection)}
    created, changed, unchanged = [], 0, 0
    events = []
    for key, record in jobs.items():
        values = _job_values(record)
        job = existing.get(key)
        if job is None:
            job = StagedJob(
                company=company, connection=connection, erp_company_code=record.company_code,
                job_code=record.job_code, raw=_jsonable(dict(record.raw)), pulled_at=now, **values,
            )
            created.append(job)
            continue
        before = {f: getattr(job, f) for f in JOB_FIELDS if getattr(job, f) != values[f]}
        job.raw = _jsonable(dict(record.raw))
        job.pulled_at = now
        if before:
            for f in before:
                setattr(job, f, values[f])
            changed += 1
            events.append(AuditEvent(
                company=company, actor=user, action="erp_job.changed_in_erp", object_type="stagedjob",
                object_id=str(job.pk), object_repr=str(job)[:255],
                before=_jsonable(before), after=_jsonable({f: values[f] for f in before}),
            ))
        else:
            unchanged += 1
    StagedJob.objects.bulk_update(
        [j for k, j in existing.items() if k in jobs], ["raw", "pulled_at", *JOB_FIELDS], batch_size=CHUNK
    )
    StagedJob.objects.bulk_create(created, batch_size=CHUNK)
    for job in created:
        existing[(job.erp_company_code, job.job_code)] = job
        events.append(AuditEvent(
            company=company, actor=user, action="erp_job.pulled", object_type="stagedjob",
            object_id=str(job.pk), object_repr=str(job)[:255], after=_jsonable(_job_values(jobs[(job.erp_company_code, job.job_code)])),
        ))
    AuditEvent.objects.bulk_create(events, batch_size=CHUNK)

    # Phases, job categories and master categories are replaced by what the ERP says now.
    pulled_ids = [existing[k].pk for k in jobs]
    for start in range(0, len(pulled_ids), 500):
        ids = pulled_ids[start:start + 500]
        StagedBudgetLine.objects.filter(job_id__in=ids).delete()
        StagedCostCode.objects.filter(job_id__in=ids).delete()
    StagedCostType.objects.filter(connection=connection).delete()
    StagedCostType.objects.bulk_create(
        [StagedCostType(connection=connection, erp_company_code=r.company_code, code=r.code, name=r.name) for r in cost_types.values()],
        batch_size=CHUNK,
    )
    total = len(jobs)
    batch_codes, batch_lines = [], []
    for done, key in enumerate(jobs, start=1):
        job = existing[key]
        batch_codes.extend(
            StagedCostCode(job=job, code=c.code, name=c.name, parent_code=c.parent_code, active=c.active) for c in codes.get(key, ())
        )
        batch_lines.extend(
            StagedBudgetLine(
                job=job, phase_code=b.phase_code, category_code=b.category_code, active=b.active,
                original_budget=b.original_budget, approved_changes=b.approved_changes, budget_units=b.budget_units,
                committed_cost=b.committed_cost, percent_complete=b.percent_complete,
            )
            for b in lines.get(key, ())
        )
        if len(batch_codes) + len(batch_lines) >= CHUNK or done == total:
            StagedCostCode.objects.bulk_create(batch_codes, batch_size=CHUNK)
            StagedBudgetLine.objects.bulk_create(batch_lines, batch_size=CHUNK)
            batch_codes, batch_lines = [], []
            report(done, total, "Staging jobs")

    _revalidate(connection, existing, jobs, codes, lines, cost_types)
    return {
        "jobs": len(jobs),
        "new": len(created),
        "changed": changed,
        "unchanged": unchanged,
        "cost_codes": sum(len(v) for v in codes.values()),
        "budget_lines": sum(len(v) for v in lines.values()),
        "cost_types": len(cost_types),
    }


def _revalidate(connection, existing, jobs, codes, lines, cost_types) -> None:
    """Store each pulled job's problems so the list shows them before anyone clicks."""
    names = {code: r.name for (_, code), r in cost_types.items()}

    def shape(key, record):
        pairs = {(b.phase_code, b.category_code) for b in lines.get(key, ())}
        return JobShape(
            job_code=record.job_code,
            name=record.name,
            cost_codes=[(c.code, c.name, c.parent_code) for c in codes.get(key, ())],
            budget_pairs=pairs,
            cost_type_names={cat: names.get(cat, "") for _, cat in pairs},
        )

    sub_jobs_of = defaultdict(list)
    for (company_code, job_code), record in jobs.items():
        if record.controlling_code:
            sub_jobs_of[(company_code, record.controlling_code)].append((company_code, job_code))
    archived = {k for k, j in existing.items() if j.status == StagedJobStatus.ARCHIVED}
    taken = _numbers_taken(connection, list(jobs))
    to_update = []
    for key, record in jobs.items():
        job = existing[key]
        problems = []
        if record.controlling_code and (key[0], record.controlling_code) not in jobs:
            problems.append({
                "code": "missing_controlling_job",
                "message": f"This sub job's controlling job {record.controlling_code} is not in the ERP.",
                "items": [record.controlling_code],
            })
        problems += problems_for(
            shape(key, record),
            sub_jobs=[shape(k, jobs[k]) for k in sub_jobs_of.get(key, ()) if k not in archived],
            number_taken=key in taken,
        )
        job.problems = problems
        job.cost_code_count = len(codes.get(key, ()))
        job.sub_job_count = len(sub_jobs_of.get(key, ()))
        to_update.append(job)
    StagedJob.objects.bulk_update(to_update, ["problems", "cost_code_count", "sub_job_count"], batch_size=CHUNK)


def _numbers_taken(connection, job_keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Job keys whose code is already the number of a project not linked to that job."""
    by_code = defaultdict(list)
    for key in job_keys:
        by_code[key[1]].append(key)
    codes = list(by_code)
    taken = set()
    for start in range(0, len(codes), 500):
        rows = Project.objects.filter(company=connection.company, project_number__in=codes[start:start + 500]).values_list(
            "project_number", "erp_kind", "erp_company_code", "erp_job_code"
        )
        for number, kind, company_code, job_code in rows:
            for key in by_code[number]:
                if (kind, company_code, job_code) != (connection.kind, key[0], key[1]):
                    taken.add(key)
    return taken


def erp_refresh_enqueue(*, connection: ErpConnection, user) -> SyncRun:
    """Queue a refresh for the background worker; the returned run shows its progress."""
    from erpsync.erp.models import SyncRunOutcome
    from erpsync.erp.tasks import erp_refresh_task

    membership = Membership.objects.filter(user=user, company=connection.company).first()
    if not can_refresh_erp(membership):
        raise PermissionRefused(REFRESH_REQUIREMENT)
    active = SyncRun.objects.filter(
        connection=connection, kind=SyncRunKind.REFRESH, outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
    ).first()
    if active:
        return active  # one refresh at a time per connection; a second click follows the first
    run = SyncRun.objects.create(company=connection.company, connection=connection, kind=SyncRunKind.REFRESH, started_by=user)
    transaction.on_commit(lambda: erp_refresh_task.enqueue(connection.pk, run.pk, user.pk))
    return run
