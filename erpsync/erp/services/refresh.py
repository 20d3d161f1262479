"""Refresh: pull the ERP's jobs, phases and categories into staging, all or nothing.

The pull goes to a scratch spool first (memory stays flat, progress is visible while the ERP is
read), is checked there, then applied to staging in one transaction. Sources that can filter by
change date are pulled incrementally after the first refresh: only what changed since the last
one (with an overlap for clock skew). Phases deleted in the ERP are only noticed by a full
refresh (`full=True`). A large pull also works in a second process (see erpsync/spool/child.py).
"""

import json
import logging
from collections import defaultdict
from datetime import timedelta
from itertools import batched

from django.conf import settings
from django.db import connection as db, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from erpsync.companies.models import Membership
from erpsync.companies.permissions import REFRESH_REQUIREMENT, can_refresh_erp
from erpsync.connectors import registry
from erpsync.connectors.base import ConnectorError, staging_batches_of
from erpsync.erp.models import (
    AuditEvent,
    ErpConnection,
    ErpWatermark,
    StagedCostType,
    StagedJob,
    StagedJobStructure,
    StagedJobStatus,
    SyncRun,
    SyncRunKind,
    SyncRunOutcome,
)
from erpsync.erp.services.runs import sync_run_recording
from erpsync.erp.rules import JobShape, checked_structure, prefixed
from erpsync.erp.services.validate import job_problems, limits
from erpsync.errors import PermissionRefused
from erpsync.projects.amounts import budget_rows_fit
from erpsync.projects.bulk import bulk_insert
from erpsync.projects.models import Project
from erpsync.spool import Spool
from erpsync.spool.child import ChildPull, helpers_can_start, write_documents

logger = logging.getLogger(__name__)

CHUNK = 2000
OVERLAP = timedelta(minutes=15)  # re-read a little of the last window, in case clocks disagree
WATERMARK = "refresh"
JOB_FIELDS = ("controlling_code", "name", "erp_status", "address", "city", "state", "zip", "start_date", "end_date")


def _check_permission(connection, user) -> None:
    if user is not None and not can_refresh_erp(Membership.objects.filter(user=user, company=connection.company).first()):
        raise PermissionRefused(REFRESH_REQUIREMENT)


def erp_refresh(*, connection: ErpConnection, user=None, run: SyncRun | None = None, progress=None, full: bool = False) -> SyncRun:
    """Pull jobs into staging: new → Ready to Import, changed → updated, archived and synced stay.

    `user` is None for scheduled and command-line refreshes run by the system.
    """
    _check_permission(connection, user)
    with (
        sync_run_recording(company=connection.company, kind=SyncRunKind.REFRESH, connection=connection, user=user,
                           run=run, progress=progress) as (run, report),
        Spool() as spool,
    ):
        source = connection.source()
        since = None
        if getattr(source, "supports_since", False) and not full:
            mark = ErpWatermark.objects.filter(connection=connection, resource=WATERMARK).first()
            since = mark.value - OVERLAP if mark else None
        started = timezone.now()
        # A large full pull's second process also builds and checks the structure documents,
        # while this one stages the jobs.
        helper = _pull(source, spool, since, report, codes_in=lambda: _check_jobs(connection, spool),
                       documents=limits() if since is None else None)
        try:
            _check_lines(connection, spool, incremental=since is not None)
            report(4, 5, "Saving")
            with transaction.atomic():
                run.counts = _apply(connection, user, spool, incremental=since is not None, report=report,
                                    documents=helper if helper is not None and helper.documents_path else None)
                if getattr(source, "supports_since", False):
                    ErpWatermark.objects.update_or_create(connection=connection, resource=WATERMARK, defaults={"value": started})
        finally:
            if helper is not None:
                helper.stop()
        run.counts["incremental"] = since is not None
    return run


PULL = [  # (entity, spool table, progress label), in the order they are read
    ("cost_types", "cost_types", "Reading cost types"),
    ("jobs", "jobs", "Reading jobs"),
    ("cost_codes", "codes", "Reading cost codes"),
    ("budget_lines", "lines", "Reading budget lines"),
]


def _pull(source, spool: Spool, since, report, *, codes_in=None, documents=None) -> ChildPull | None:
    """Read the ERP into the spool. A large pull reads job categories in a second process, which
    is returned (the caller stops it); with `documents` (the cost-code limits), that process then
    builds the structure documents.

    `codes_in` is called once phases are in, before job categories are (or, being read by the
    second process, while they are).
    """
    child = None  # job categories read by a second process, for a large pull
    large_from = _parallel_from(source)

    def start_child_when_large(batches):
        """Jobs pass through; once there are enough of them, job categories start in a second process."""
        nonlocal child
        seen = 0
        for batch in batches:
            seen += len(batch)
            if child is None and large_from <= seen:
                spool.hand_over("lines")
                child = ChildPull(source.recipe(), "budget_lines", "lines", since, spool.scratch_path("lines.sqlite3"))
            yield batch

    try:
        for step, (entity, table, label) in enumerate(PULL):
            report(step, len(PULL) + 1, label)
            if entity == "budget_lines" and codes_in is not None:
                codes_in()
            if child is not None and entity == child.entity:
                if documents is not None:  # the spool has all but the job categories, which are the child's own
                    child.documents(spool.path, {**spool.attached, spool.attachment(table): str(child.path)}, documents,
                                    spool.scratch_path("documents.sqlite3"))
                child.wait()
                spool.adopt(table, child.path)
                continue
            batches = staging_batches_of(source, entity, since=since)
            if entity == "jobs":
                batches = start_child_when_large(batches)
            spool.add(table, map(budget_rows_fit, batches) if entity == "budget_lines" else batches)
    except BaseException:
        if child is not None:
            child.stop()
        raise
    return child


def _parallel_from(source) -> float:
    """How many pulled jobs make a pull large enough for a second process (never, if the Source cannot be rebuilt there)."""
    recipe = source.recipe() if hasattr(source, "recipe") else None
    possible = recipe is not None and settings.PARALLEL_PULL_JOBS > 0 and helpers_can_start()
    return settings.PARALLEL_PULL_JOBS if possible else float("inf")


def _check_jobs(connection, spool: Spool) -> None:
    """Each pulled phase belongs to a pulled or staged job (checked once phases are in, while job categories may still be read)."""
    spool.add_known("known_jobs", StagedJob.objects.filter(connection=connection).values_list("erp_company_code", "job_code").iterator(chunk_size=CHUNK))
    orphan = spool.first("""SELECT code, job, "where" FROM codes c
        WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.company = c.company AND j.job = c.job)
          AND NOT EXISTS (SELECT 1 FROM known_jobs k WHERE k.company = c.company AND k.job = c.job) LIMIT 1""")
    if orphan:
        raise ConnectorError(f"{orphan[2]}: cost code {orphan[0]} belongs to job {orphan[1]}, which the jobs list does not have.")


def _check_lines(connection, spool: Spool, *, incremental: bool) -> None:
    """Each pulled job category names a category of the company and a phase of its job, pulled or staged."""
    if incremental:
        jobs = {(c, j) for c, j in spool.rows("SELECT DISTINCT company, job FROM lines")}
        staged = StagedJob.objects.filter(connection=connection, job_code__in={j for _, j in jobs})
        spool.add_known("known_codes", (
            (company_code, job_code, code[0])
            for company_code, job_code, codes in staged.values_list("erp_company_code", "job_code", "structure__cost_codes")
            if (company_code, job_code) in jobs and codes for code in codes
        ))
    spool.check_lines(known_codes=incremental)


def _apply(connection, user, spool: Spool, *, incremental: bool, report, documents: ChildPull | None = None) -> dict:
    now = timezone.now()
    StagedCostType.objects.filter(connection=connection).delete()
    StagedCostType.objects.bulk_create(
        (StagedCostType(connection=connection, erp_company_code=c, code=code, name=name) for c, code, name, _, _ in spool.rows("SELECT * FROM cost_types")),
        batch_size=CHUNK,
    )
    created, changed, unchanged = _apply_jobs(connection, user, spool, now)
    spool.add_known("job_ids", StagedJob.objects.filter(connection=connection).values_list(
        "erp_company_code", "job_code", "pk").iterator(chunk_size=CHUNK))
    touched = {pk for (pk,) in spool.rows("""SELECT i.id FROM job_ids i
        WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.company = i.company AND j.job = i.job)
           OR EXISTS (SELECT 1 FROM codes c WHERE c.company = i.company AND c.job = i.job)
           OR EXISTS (SELECT 1 FROM lines l WHERE l.company = i.company AND l.job = i.job)""")}
    checked = None  # a full pull checks its jobs' cost codes while writing their structure
    if not incremental:
        pulled = [pk for (pk,) in spool.rows("SELECT i.id FROM jobs JOIN job_ids i USING (company, job)")]
        checked = dict.fromkeys(pulled, (0, []))  # a pulled job without phases or categories has none left
    if incremental:
        written = _merge_structures(spool)
    else:
        if documents is not None:  # built by the helper process meanwhile
            documents.wait()
            path = documents.documents_path
        else:
            path = spool.scratch_path("documents.sqlite3")
            write_documents(spool, limits(), path)
        written = _write_documents(spool, path, checked)
        # A full pull is the whole truth about the jobs it lists: a job it has no phases for keeps none.
        for chunk in batched([pk for pk in pulled if pk not in written], 500):
            StagedJobStructure.objects.filter(job_id__in=chunk).delete()
    report(5, 5, "Checking jobs")
    _revalidate(connection, touched, checked=checked or {})
    return {
        "jobs": spool.count("jobs"),
        "new": created,
        "changed": changed,
        "unchanged": unchanged,
        "cost_codes": spool.count("codes"),
        "budget_lines": spool.count("lines"),
        "cost_types": spool.count("cost_types"),
    }


def _structures(spool: Spool):
    """(job id, ERP company, phases, job categories) of every job with rows in the pull, as JSON text."""
    ids = dict(((c, j), pk) for c, j, pk in spool.rows("SELECT company, job, id FROM job_ids"))
    for company_code, job_code, codes, lines in spool.structures():
        yield ids[(company_code, job_code)], company_code, codes, lines


def _merge_structures(spool: Spool) -> set[int]:
    """Store an incremental pull's structures: its rows replace or join each job's stored ones."""
    json_field = StagedJobStructure._meta.get_field("cost_codes")  # prepares any JSON value for the database
    written = set()

    def rows(batch):
        stored = {job_id: (codes, lines) for job_id, codes, lines in StagedJobStructure.objects.filter(
            job_id__in=[job_id for job_id, _, _, _ in batch]).values_list("job_id", "cost_codes", "budget_lines")}
        for job_id, _, codes_text, lines_text in batch:
            written.add(job_id)
            if job_id in stored:
                old_codes, old_lines = stored[job_id]
                codes = sorted(({c[0]: c for c in old_codes} | {c[0]: c for c in json.loads(codes_text)}).values())
                lines = sorted(({(l[0], l[1]): l for l in old_lines} | {(l[0], l[1]): l for l in json.loads(lines_text)}).values())
            elif db.vendor == "sqlite":
                yield job_id, codes_text, lines_text  # SQLite keeps JSON as the text SQLite itself just wrote
                continue
            else:
                codes, lines = json.loads(codes_text), json.loads(lines_text)
            yield job_id, json_field.get_db_prep_save(codes, db), json_field.get_db_prep_save(lines, db)

    for batch in batched(_structures(spool), CHUNK):
        bulk_insert(StagedJobStructure, ["job", "cost_codes", "budget_lines"], rows(batch), update_conflicts=["job"])
    return written


def _write_documents(spool: Spool, path, checked: dict) -> set[int]:
    """Store a full pull's structure documents and note their checks (see write_documents)."""
    json_field = StagedJobStructure._meta.get_field("cost_codes")
    spool.db.execute("ATTACH DATABASE ? AS pulled_documents", (str(path),))

    written = set()

    def rows(batch):
        for job_id, codes, lines, count, problems in batch:
            written.add(job_id)
            checked[job_id] = (count, json.loads(problems) if problems else [])
            if db.vendor == "sqlite":
                yield job_id, codes, lines  # SQLite keeps JSON as the text SQLite wrote
            else:
                yield job_id, json_field.get_db_prep_save(json.loads(codes), db), json_field.get_db_prep_save(json.loads(lines), db)

    documents = spool.rows("SELECT i.id, d.codes, d.lines, d.count, d.problems FROM documents d JOIN job_ids i USING (company, job)")
    for batch in batched(documents, CHUNK):
        bulk_insert(StagedJobStructure, ["job", "cost_codes", "budget_lines"], rows(batch), update_conflicts=["job"])
    return written


def _job_values(row) -> dict:
    _, _, name, controlling, status, address, city, state, zip_code, start, end = row[:11]
    return {"controlling_code": controlling, "name": name, "erp_status": status, "address": address, "city": city,
            "state": state, "zip": zip_code, "start_date": parse_date(start) if start else None,
            "end_date": parse_date(end) if end else None}


def _jsonable(values: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def _apply_jobs(connection, user, spool: Spool, now) -> tuple[int, int, int]:
    created = changed = unchanged = 0
    # Each pulled job with a flag: is it staged already (known_jobs holds staging's keys, see _check)?
    rows = spool.rows("""SELECT j.*, EXISTS (SELECT 1 FROM known_jobs k WHERE k.company = j.company AND k.job = j.job)
        FROM jobs j""")
    # New jobs go in with the number of cost codes pulled for them, which checking then mostly confirms.
    code_counts = {(c, j): n for c, j, n in spool.rows("SELECT company, job, count(*) FROM codes GROUP BY company, job")}
    for batch in batched(rows, CHUNK):
        counts = _apply_job_batch(connection, user, batch, now, code_counts)
        created, changed, unchanged = created + counts[0], changed + counts[1], unchanged + counts[2]
    return created, changed, unchanged


def _apply_job_batch(connection, user, rows, now, code_counts: dict) -> tuple[int, int, int]:
    """Stage a batch of pulled jobs: rows of the spool's jobs table, each with its "staged already" flag last."""
    company = connection.company
    staged_codes = {r[1] for r in rows if r[-1]}
    existing = {
        (j.erp_company_code, j.job_code): j
        for j in StagedJob.objects.filter(connection=connection, job_code__in=staged_codes)
    } if staged_codes else {}
    new, changed, raw_only, untouched, events = [], [], [], [], []
    for row in rows:
        values = _job_values(row)
        job = existing.get((row[0], row[1]))
        if job is None:
            new.append((row, values))
            continue
        raw = json.loads(row[11])
        before = {f: getattr(job, f) for f in JOB_FIELDS if getattr(job, f) != values[f]}
        if before:
            for f in before:
                setattr(job, f, values[f])
            job.raw, job.pulled_at = raw, now
            changed.append(job)
            events.append(AuditEvent(company=company, actor=user, action="erp_job.changed_in_erp", object_type="stagedjob",
                                     object_id=str(job.pk), object_repr=str(job)[:255], before=_jsonable(before),
                                     after=_jsonable({f: values[f] for f in before})))
        elif job.raw != raw:
            job.raw, job.pulled_at = raw, now
            raw_only.append(job)
        else:
            untouched.append(job.pk)
    StagedJob.objects.bulk_update(changed, ["raw", "pulled_at", *JOB_FIELDS], batch_size=500)
    StagedJob.objects.bulk_update(raw_only, ["raw", "pulled_at"], batch_size=500)
    StagedJob.objects.filter(pk__in=untouched).update(pulled_at=now)
    _insert_new_jobs(connection, new, now, code_counts)
    if new:
        # One event for the jobs a refresh brings in, naming them all.
        events.append(AuditEvent(company=company, actor=user, action="erp_jobs.pulled", object_type="erpconnection",
                                 object_id=str(connection.pk), object_repr=str(connection)[:255],
                                 after={"jobs": [f"{row[0]}/{row[1]}" for row, _ in new]}))
    AuditEvent.objects.bulk_create(events, batch_size=500)
    return len(new), len(changed), len(raw_only) + len(untouched)


def _insert_new_jobs(connection, new: list, now, code_counts: dict) -> None:
    """New jobs go in with executemany: a first refresh of a large ERP brings tens of thousands."""
    def prep(name, value):
        return StagedJob._meta.get_field(name).get_db_prep_save(value, db)

    stamp = prep("pulled_at", now)
    no_problems = prep("problems", [])
    fields = ["company", "connection", "erp_company_code", "job_code", *JOB_FIELDS, "raw", "status", "problems",
              "cost_code_count", "sub_job_count", "first_pulled_at", "pulled_at", "publish_status", "publish_step", "publish_error"]
    # The spool holds each job's item as JSON text, which SQLite stores as it is.
    raw = (lambda text: text) if db.vendor == "sqlite" else (lambda text: prep("raw", json.loads(text)))
    bulk_insert(StagedJob, fields, (
        (connection.company_id, connection.pk, row[0], row[1], *(values[f] for f in JOB_FIELDS), raw(row[11]),
         StagedJobStatus.READY, no_problems, code_counts.get((row[0], row[1]), 0), 0, stamp, stamp, "", "", "")
        for row, values in new
    ))


def _revalidate(connection, touched: set[int], *, checked: dict) -> None:
    """Store the problems of every job whose data changed (and of its control job).

    `checked` holds the cost-code count and problems of jobs already checked from the pull;
    the others' are read from staging.
    """
    jobs = {  # pk → (company, code, controlling code, name, status, (problems, cost codes, sub jobs) as stored)
        pk: (company_code, code, controlling, name, status, stored)
        for pk, company_code, code, controlling, name, status, *stored in StagedJob.objects.filter(connection=connection).values_list(
            "pk", "erp_company_code", "job_code", "controlling_code", "name", "status", "problems", "cost_code_count",
            "sub_job_count").iterator(chunk_size=CHUNK)
    }
    pk_of = {(j[0], j[1]): pk for pk, j in jobs.items()}
    sub_jobs = defaultdict(list)  # (company, control job) → pks of its sub jobs that are not archived
    for pk, (company_code, _, controlling, _, status, _) in jobs.items():
        if controlling and status != StagedJobStatus.ARCHIVED:
            sub_jobs[(company_code, controlling)].append(pk)
    affected = set(touched)
    for pk in touched:
        company_code, _, controlling, _, _, _ = jobs[pk]
        if controlling and (company_code, controlling) in pk_of:
            affected.add(pk_of[(company_code, controlling)])
    names = {(c, code): name for c, code, name in StagedCostType.objects.filter(connection=connection).values_list(
        "erp_company_code", "code", "name")}
    taken = _numbers_taken(connection, [jobs[pk][:2] for pk in affected])
    for chunk in batched(sorted(affected), CHUNK):
        _revalidate_batch(chunk, jobs, pk_of, sub_jobs, names, taken, checked)


def _check_stored(ids: set[int], jobs: dict, names: dict) -> dict:
    found = dict.fromkeys(ids, (0, []))  # a job without a structure has no cost codes
    for job_id, codes, lines in StagedJobStructure.objects.filter(job_id__in=ids).values_list("job_id", "cost_codes", "budget_lines"):
        found[job_id] = checked_structure(jobs[job_id][0], codes, lines, names, limits())
    return found


def _revalidate_batch(ids: tuple[int, ...], jobs: dict, pk_of: dict, sub_jobs: dict, names: dict, taken: set,
                      checked: dict) -> None:
    subs = {pk: sub_jobs.get((jobs[pk][0], jobs[pk][1]), []) if not jobs[pk][2] else [] for pk in ids}
    every = set(ids).union(*subs.values())
    parts = {pk: checked[pk] for pk in every if pk in checked}
    parts.update(_check_stored(every.difference(parts), jobs, names))

    alike = defaultdict(list)  # most jobs have no problems and few distinct counts: one UPDATE per kind, not per job
    for pk in ids:
        company_code, code, controlling, name, _, stored = jobs[pk]
        problems = []
        if controlling and (company_code, controlling) not in pk_of:
            problems.append({"code": "missing_controlling_job", "items": [controlling],
                             "message": f"This sub job's controlling job {controlling} is not in the ERP."})
        # The same problems, in the same order, as problems_for gives for the job and its sub jobs.
        problems += job_problems(JobShape(job_code=code, name=name), number_taken=(company_code, code) in taken)
        count, own = parts[pk]
        problems += own
        for sub in subs[pk]:
            problems += prefixed(parts[sub][1], jobs[sub][1])
        counts = (count, len(subs[pk]))
        if [problems, *counts] == stored:
            continue  # as stored already
        if problems:
            StagedJob.objects.filter(pk=pk).update(problems=problems, cost_code_count=counts[0], sub_job_count=counts[1])
        else:
            alike[counts].append(pk)
    for (count, sub_count), pks in alike.items():
        StagedJob.objects.filter(pk__in=pks).update(problems=[], cost_code_count=count, sub_job_count=sub_count)


def _numbers_taken(connection, job_keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Job keys whose code is already the number of a project not linked to that job.

    The company's projects are read in one pass: there are at most as many as its project
    limit allows, while a refresh may check tens of thousands of jobs.
    """
    by_code = defaultdict(list)
    for key in job_keys:
        by_code[key[1]].append(key)
    taken = set()
    rows = Project.objects.filter(company=connection.company).values_list(
        "project_number", "erp_kind", "erp_company_code", "erp_job_code").iterator(chunk_size=CHUNK)
    for number, kind, company_code, job_code in rows:
        for key in by_code.get(number, ()):
            if (kind, company_code, job_code) != (connection.kind, key[0], key[1]):
                taken.add(key)
    return taken


def erp_refresh_enqueue(*, connection: ErpConnection, user) -> SyncRun:
    """Queue a refresh for the background worker; the returned run shows its progress."""
    from erpsync.erp.tasks import erp_refresh_task

    _check_permission(connection, user)
    active = SyncRun.objects.filter(
        connection=connection, kind=SyncRunKind.REFRESH, outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
    ).first()
    if active:
        return active  # one refresh at a time per connection; a second click follows the first
    run = SyncRun.objects.create(company=connection.company, connection=connection, kind=SyncRunKind.REFRESH, started_by=user)
    transaction.on_commit(lambda: erp_refresh_task.enqueue(connection.pk, run.pk, user.pk))
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
    busy = SyncRun.objects.filter(
        connection=connection, kind=SyncRunKind.REFRESH, outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
    ).exists()
    if not incremental or busy:
        return None
    run = SyncRun.objects.create(company=connection.company, connection=connection, kind=SyncRunKind.REFRESH)
    transaction.on_commit(lambda: erp_refresh_task.enqueue(connection.pk, run.pk, None, full=True))
    return run
