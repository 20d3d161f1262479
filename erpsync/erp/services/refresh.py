"""Refresh: pull the ERP's jobs, phases and categories into staging, all or nothing.

The pull is read into scratch tables and checked there as a whole (erp/pull.py). Then staging
changes in one transaction: new jobs inserted, changed ones updated and audited, structure
documents rebuilt, and the problems of every job the pull touched stored, by the same rules
validation uses (erp/rules.py). Sources that can filter by change date are pulled
incrementally after the first refresh, with an overlap for clock skew; phases deleted in the
ERP are only noticed by a full refresh (`full=True`, nightly). The database admits one active
refresh per connection.
"""

import logging
from collections import defaultdict
from datetime import timedelta
from itertools import batched

from django.db import IntegrityError, connection as db_connection, transaction
from django.utils import formats, timezone

from erpsync import db
from erpsync.companies.models import Membership
from erpsync.companies.permissions import REFRESH_REQUIREMENT, can_refresh_erp
from erpsync.connectors import registry
from erpsync.erp.models import (
    AuditEvent,
    ErpConnection,
    ErpWatermark,
    StagedCostType,
    StagedJob,
    StagedJobStatus,
    StagedJobStructure,
    SyncRun,
    SyncRunKind,
    SyncRunOutcome,
)
from erpsync.erp.pull import Pull
from erpsync.erp.services.linking import new_cost_codes_auto_add, new_cost_codes_recount
from erpsync.erp.services.runs import sync_run_enqueue, sync_run_recording, sync_runs_reap
from erpsync.erp.services.validate import staged_jobs_recheck
from erpsync.errors import PermissionRefused, RefreshBusy

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=15)  # re-read a little of the last window, in case clocks disagree
WATERMARK = "refresh"  # "refresh:<ERP company code>": up to when that company's rows have been read
ACTIVE = [SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
BATCH = 1000
# StagedJob column → pull_jobs column, for what a user sees of a job
JOB_COLUMNS = {"controlling_code": "controlling", "name": "name", "erp_status": "status", "address": "address",
               "city": "city", "state": "state", "zip": "zip", "start_date": "start_date", "end_date": "end_date"}
PULLED = "p.company = s.erp_company_code AND p.job = s.job_code"


def _check_permission(connection, user) -> None:
    if user is not None and not can_refresh_erp(Membership.objects.filter(user=user, company=connection.company).first()):
        raise PermissionRefused(REFRESH_REQUIREMENT)


def erp_refresh(*, connection: ErpConnection, user=None, run: SyncRun | None = None, progress=None, full: bool = False) -> SyncRun:
    """Pull jobs into staging: new → Ready to Import, changed → updated, archived and synced stay.

    `user` is None for scheduled and command-line refreshes run by the system. Without `run`
    (the command line), a refresh of the connection that is queued or running already is
    refused with RefreshBusy.
    """
    _check_permission(connection, user)
    if run is None:
        run, created = _queue_run(connection, user)
        if not created:
            raise RefreshBusy(_busy_message(run))
    with (
        sync_run_recording(company=connection.company, kind=SyncRunKind.REFRESH, connection=connection, user=user,
                           run=run, progress=progress) as (run, report),
        Pull() as pull,
    ):
        source = connection.source()
        incremental = getattr(source, "supports_since", False)
        # Per ERP company: one newly added to the connection is read in full, the others only for what changed.
        companies = {f"{WATERMARK}:{code}": code for code in source.company_codes} if incremental else {}
        marks = ErpWatermark.objects.filter(connection=connection, resource__in=companies) if not full else []
        since = {companies[mark.resource]: mark.value - OVERLAP for mark in marks} or None
        started = timezone.now()
        pull.load(source, since=since, readers=getattr(source, "parallel_requests", 2), report=report)
        counts = {"jobs": pull.jobs.table.loaded, "cost_codes": pull.codes.table.loaded,
                  "budget_lines": pull.lines.table.loaded, "cost_types": pull.cost_types.table.loaded}
        report(1, 4, "Checking")
        pull.check_rows(connection.pk, full=since is None)
        if since is not None:  # the jobs it touches keep the staged phases and job categories it does not replace
            pull.keep_staged(_staged_documents(connection, pull.jobs_with_structure()))
        pull.check_phases()
        report(2, 4, "Saving")
        with transaction.atomic():
            ErpConnection.objects.select_for_update(no_key=True).only("pk").get(pk=connection.pk)  # one apply at a time
            _save_cost_types(connection)
            new, fields_changed, pulled = _save_jobs(connection, user)
            trees_changed = _save_documents(connection, full=since is None)
            report(3, 4, "Checking jobs")
            # A job has changed when anything a user sees of it has: its fields, its cost-code tree, its problems.
            changed = (fields_changed | trees_changed | _recheck(connection)) - new
            counts |= {"new": len(new), "changed": len(changed), "unchanged": len(pulled - new - changed)}
            if incremental:
                for resource in companies:
                    ErpWatermark.objects.update_or_create(connection=connection, resource=resource, defaults={"value": started})
        # A full refresh recounts every synced job (a project may have changed as well as the ERP); others, the jobs they touched.
        new_cost_codes_recount(connection, trees_changed if since is not None else set(
            StagedJob.objects.filter(connection=connection, status=StagedJobStatus.SYNCED).values_list("pk", flat=True)))
        run.counts = counts | {"incremental": since is not None}
    new_cost_codes_auto_add(connection, user)
    return run


def _staged_documents(connection, keys: list[tuple[str, str]]):
    """(company, job, phases, job categories) as staged, for the jobs with these keys."""
    by_job = defaultdict(set)
    for company_code, job_code in keys:
        by_job[job_code].add(company_code)
    for chunk in batched(by_job, BATCH):
        structures = StagedJobStructure.objects.filter(job__connection=connection, job__job_code__in=chunk).values_list(
            "job__erp_company_code", "job__job_code", "cost_codes", "budget_lines")
        yield from (s for s in structures if s[0] in by_job[s[1]])


def _save_cost_types(connection) -> None:
    StagedCostType.objects.filter(connection=connection).delete()
    db.execute(f"""INSERT INTO {StagedCostType._meta.db_table} (connection_id, erp_company_code, code, name)
        SELECT %s, company, code, name FROM pull_cost_types""", [connection.pk])


def _save_jobs(connection, user) -> tuple[set[int], set[int], set[int]]:
    """Insert new jobs, update changed ones (audited), and leave the rest unwritten.

    Returns the ids of the new jobs, of those whose fields changed, and of every pulled job.
    """
    now = timezone.now()
    table = StagedJob._meta.db_table
    differs = " OR ".join(f"s.{column} IS DISTINCT FROM p.{pulled}" for column, pulled in JOB_COLUMNS.items())
    changed = db.rows(f"""SELECT s.id, s.job_code, s.name, {', '.join(f's.{c}' for c in JOB_COLUMNS)}, {', '.join(f'p.{c}' for c in JOB_COLUMNS.values())}
        FROM {table} s JOIN pull_jobs p ON {PULLED} WHERE s.connection_id = %s AND ({differs})""", [connection.pk])
    events = []
    for pk, code, name, *values in changed:
        was, now_is = dict(zip(JOB_COLUMNS, values[:len(JOB_COLUMNS)])), dict(zip(JOB_COLUMNS, values[len(JOB_COLUMNS):]))
        fields = [f for f in JOB_COLUMNS if was[f] != now_is[f]]
        events.append(AuditEvent(company=connection.company, actor=user, action="erp_job.changed_in_erp", object_type="stagedjob",
                                 object_id=str(pk), object_repr=f"{code} {name}"[:255], before=_jsonable(was, fields),
                                 after=_jsonable(now_is, fields)))
    assignments = ", ".join(f"{column} = p.{pulled}" for column, pulled in JOB_COLUMNS.items())
    db.execute(f"""UPDATE {table} AS s SET {assignments}, raw = p.raw, pulled_at = %s FROM pull_jobs p
        WHERE s.connection_id = %s AND {PULLED} AND ({differs} OR s.raw IS DISTINCT FROM p.raw)""", [now, connection.pk])

    unstaged = f"NOT EXISTS (SELECT 1 FROM {table} s WHERE s.connection_id = %s AND {PULLED})"
    new = db.rows(f"SELECT p.company, p.job FROM pull_jobs p WHERE {unstaged} ORDER BY p.seq", [connection.pk])
    none = StagedJob._meta.get_field("problems").get_db_prep_save([], db_connection)
    new_ids = db.rows(f"""INSERT INTO {table} (company_id, connection_id, erp_company_code, job_code, {', '.join(JOB_COLUMNS)}, raw,
            status, problems, cost_code_count, sub_job_count, first_pulled_at, pulled_at, publish_status, publish_step, publish_error)
        SELECT %s, %s, p.company, p.job, {', '.join(f'p.{c}' for c in JOB_COLUMNS.values())}, p.raw,
            %s, %s, 0, 0, %s, %s, '', '', '' FROM pull_jobs p WHERE {unstaged} RETURNING id""",
               [connection.company_id, connection.pk, StagedJobStatus.READY, none, now, now, connection.pk])
    if new:  # one event for the jobs a refresh brings in, naming them all
        events.append(AuditEvent(company=connection.company, actor=user, action="erp_jobs.pulled", object_type="erpconnection",
                                 object_id=str(connection.pk), object_repr=str(connection)[:255],
                                 after={"jobs": [f"{company_code}/{job_code}" for company_code, job_code in new]}))
    AuditEvent.objects.bulk_create(events, batch_size=500)
    pulled = db.rows(f"SELECT s.id FROM {table} s JOIN pull_jobs p ON {PULLED} WHERE s.connection_id = %s", [connection.pk])
    return {pk for (pk,) in new_ids}, {row[0] for row in changed}, {pk for (pk,) in pulled}


def _jsonable(values: dict, fields: list[str]) -> dict:
    return {f: (values[f].isoformat() if hasattr(values[f], "isoformat") else values[f]) for f in fields}


def _save_documents(connection, *, full: bool) -> set[int]:
    """Rebuild the structure document of every job with rows in the pull, writing only those that changed; their ids.

    A full pull is the whole truth about the jobs it lists: a listed job it has no rows for keeps none.
    """
    table, jobs = StagedJobStructure._meta.db_table, StagedJob._meta.db_table
    code = db.json_array("code", "name", "parent", db.json_bool("active"))
    line = db.json_array("phase", "category", db.json_bool("active"), "original_budget", "approved_changes", "budget_units",
                         "committed_cost", "percent_complete")
    codes = f"""SELECT company, job, {db.json_agg(code, 'code')} AS doc
        FROM (SELECT * FROM pull_codes ORDER BY company, job, code) c GROUP BY company, job"""
    lines = f"""SELECT company, job, {db.json_agg(line, 'phase, category')} AS doc
        FROM (SELECT * FROM pull_lines ORDER BY company, job, phase, category) l GROUP BY company, job"""
    written = db.rows(f"""INSERT INTO {table} (job_id, cost_codes, budget_lines)
        SELECT s.id, COALESCE(c.doc, '[]'), COALESCE(l.doc, '[]') FROM {jobs} s
            LEFT JOIN ({codes}) c ON c.company = s.erp_company_code AND c.job = s.job_code
            LEFT JOIN ({lines}) l ON l.company = s.erp_company_code AND l.job = s.job_code
        WHERE s.connection_id = %s AND (c.doc IS NOT NULL OR l.doc IS NOT NULL)
        ON CONFLICT (job_id) DO UPDATE SET cost_codes = excluded.cost_codes, budget_lines = excluded.budget_lines
        WHERE {table}.cost_codes IS DISTINCT FROM excluded.cost_codes
           OR {table}.budget_lines IS DISTINCT FROM excluded.budget_lines RETURNING job_id""", [connection.pk])
    if full:
        written += db.rows(f"""DELETE FROM {table} WHERE job_id IN (SELECT s.id FROM {jobs} s JOIN pull_jobs p ON {PULLED}
            WHERE s.connection_id = %s
              AND NOT EXISTS (SELECT 1 FROM pull_codes c WHERE c.company = p.company AND c.job = p.job)
              AND NOT EXISTS (SELECT 1 FROM pull_lines l WHERE l.company = p.company AND l.job = p.job)) RETURNING job_id""",
                           [connection.pk])
    return {pk for (pk,) in written}


def _recheck(connection) -> set[int]:
    """Store the problems of every job the pull touched (and of its control job); the ids of jobs whose problems changed."""
    touched = {pk for (pk,) in db.rows(f"""SELECT s.id FROM {StagedJob._meta.db_table} s WHERE s.connection_id = %s AND (
        EXISTS (SELECT 1 FROM pull_jobs p WHERE {PULLED}) OR EXISTS (SELECT 1 FROM pull_codes p WHERE {PULLED})
        OR EXISTS (SELECT 1 FROM pull_lines p WHERE {PULLED}))""", [connection.pk])}
    return staged_jobs_recheck(connection, touched)


# --- queueing: one active refresh per connection ----------------------------------------------


def _queue_run(connection: ErpConnection, user) -> tuple[SyncRun, bool]:
    """A new queued refresh run, or (False) the one already queued or running: the database admits one.

    A refresh whose process has stopped is interrupted first, so the new one can start at once.
    """
    sync_runs_reap(connection=connection, kind=SyncRunKind.REFRESH)
    try:
        with transaction.atomic():
            return SyncRun.objects.create(company=connection.company, connection=connection, kind=SyncRunKind.REFRESH,
                                          started_by=user), True
    except IntegrityError:
        active = SyncRun.objects.filter(connection=connection, kind=SyncRunKind.REFRESH, outcome__in=ACTIVE).first()
        return (active, False) if active is not None else _queue_run(connection, user)  # it ended meanwhile


def _busy_message(run: SyncRun) -> str:
    when = formats.time_format(timezone.localtime(run.started_at or run.created_at), "H:i")
    who = f" by {run.started_by.get_full_name() or run.started_by.username}" if run.started_by else ""
    return f"A refresh of {run.connection} is already {run.get_outcome_display().lower()} (since {when}{who}); wait for it to finish."


def erp_refresh_enqueue(*, connection: ErpConnection, user) -> SyncRun:
    """Queue a refresh for the background worker; the returned run shows its progress.

    While a refresh of the connection is queued or running, a second request joins it.
    """
    from erpsync.erp.tasks import erp_refresh_task

    _check_permission(connection, user)
    run, created = _queue_run(connection, user)
    if created:
        sync_run_enqueue(run, erp_refresh_task, connection.pk, run.pk, user.pk)
    return run


def erp_refresh_queue_full(*, connection: ErpConnection) -> SyncRun | None:
    """Queue a system full refresh of a connection that supports incremental ones (None otherwise,
    or when a refresh of it is already queued or running)."""
    from erpsync.erp.tasks import erp_refresh_task

    try:
        incremental = getattr(registry.source_class(connection.kind), "supports_since", False)
    except ValueError as exc:
        logger.warning("no full refresh of connection %s: %s", connection.pk, exc)
        return None
    if not incremental:
        return None
    run, created = _queue_run(connection, None)
    if not created:
        return None
    sync_run_enqueue(run, erp_refresh_task, connection.pk, run.pk, None, full=True)
    return run
