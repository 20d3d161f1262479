"""Publishing an imported job to Procore, exactly once however often it is interrupted.

The local import is one transaction; publishing runs afterwards as a background task, step by
step. Every record is sent with a stable `origin_id`, and every Procore id is stored on the
local record as soon as Procore returns it, so a publish that was interrupted anywhere (killed
worker, 5xx, timeout) and retried finds what it made and makes nothing twice.
"""

from django.db.models import F, Q
from django.utils import timezone

from erpsync.connectors.base import ConnectorError
from erpsync.connectors.procore.client import item_errors_text
from erpsync.erp.models import ProcoreConnection, PublishStatus, StagedJob, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.erp.services.runs import sync_run_enqueue, sync_run_recording, sync_runs_reap
from erpsync.errors import ApplicationError
from erpsync.projects.models import BaseType, BudgetLine, CostCode, CostType, JobCost, SubJob

# Procore's published request schema has no "labor" base type; labor cost types go as "other".
BASE_TYPES = {BaseType.LABOR: "other", BaseType.MATERIALS: "materials", BaseType.EQUIPMENT: "equipment",
              BaseType.COMMITMENT: "commitment", BaseType.PROFESSIONAL_SERVICES: "professional_services", BaseType.OTHER: "other"}
STEPS = ("project", "sub jobs", "cost types", "cost codes", "cost type assignments", "job costs")


class PublishItemErrors(ApplicationError):
    """Procore accepted the call but refused some items; each is named."""


def job_origin_id(job: StagedJob) -> str:
    return f"{job.connection.kind}:{job.erp_company_code}:{job.job_code}"


def procore_publish_enqueue(*, job: StagedJob) -> SyncRun:
    """Mark the job as publishing and queue the publish once the import has committed.

    While a publish of the project is queued or running, that one is returned instead.
    """
    from erpsync.erp.tasks import procore_publish_task

    project_id = StagedJob.objects.filter(pk=job.pk).values_list("project_id", flat=True).first()
    if project_id is None:
        raise ApplicationError(f"Job {job.job_code} has not been added as a project yet.")
    sync_runs_reap(project_id=project_id, kind=SyncRunKind.PUBLISH)
    active = SyncRun.objects.filter(project_id=project_id, kind=SyncRunKind.PUBLISH,
                                    outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]).first()
    if active is not None:
        return active
    StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.PUBLISHING, publish_error="", publish_step="")
    run = SyncRun.objects.create(company=job.company, connection=job.connection, project_id=project_id, job=job,
                                 kind=SyncRunKind.PUBLISH)
    sync_run_enqueue(run, procore_publish_task, job.pk, run.pk)
    return run


def procore_publish(*, job: StagedJob, client=None, run: SyncRun | None = None) -> None:
    connection = ProcoreConnection.objects.filter(company=job.company).first()
    if connection is None:
        if run is not None:  # queued while there was one
            _finish_unpublished(job, run, "The company's Procore connection was removed; nothing was published.")
        return
    project = job.project
    if project is None:
        raise ApplicationError(f"Job {job.job_code} has not been added as a project yet.")
    client = client or connection.client()
    StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.PUBLISHING, publish_error="")
    step = STEPS[0]
    try:
        with sync_run_recording(company=job.company, kind=SyncRunKind.PUBLISH, connection=job.connection, project=project,
                                run=run, job=job) as (run, report):
            counts = {}
            for number, (step, work) in enumerate(zip(STEPS, (_project, _sub_jobs, _cost_types, _cost_codes, _assignments, _job_costs))):
                StagedJob.objects.filter(pk=job.pk).update(publish_step=step)
                report(number, len(STEPS), f"Publishing {step}")
                counts[step.replace(" ", "_")] = work(client, job, project)
            run.counts = counts | {"requests": client.requests_made}
    except ApplicationError as exc:
        # Say what is true: Procore may have much of the job already, and Retry sends only the rest.
        message = f"{what_procore_has(project)}; the {step} failed: {exc.message} Retry sends only what is left."
        StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.FAILED, publish_error=message)
        failed = SyncRun.objects.filter(project=project, kind=SyncRunKind.PUBLISH, outcome=SyncRunOutcome.FAILED).order_by("-pk")
        SyncRun.objects.filter(pk__in=failed.values("pk")[:1]).update(error=message)
        raise ApplicationError(message) from exc
    StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.PUBLISHED, publish_step="", published_at=timezone.now())


def what_procore_has(project) -> str:
    """What of a project has reached Procore, in words ("Procore has the project and 8 cost codes")."""
    project.refresh_from_db(fields=["procore_id"])
    if not project.procore_id:
        return "Procore has nothing of this job yet"
    counted = [
        (SubJob.objects.filter(project=project, procore_id__isnull=False).count(), "sub job"),
        (CostCode.objects.filter(project=project, procore_id__isnull=False).count(), "cost code"),
        (BudgetLine.objects.filter(project=project, assigned_in_procore=True).count(), "cost-type assignment"),
        (JobCost.objects.filter(budget_line__project=project, pushed_at__isnull=False).count(), "job cost"),
    ]
    parts = ["the project", *(f"{n:,} {what}{'s' if n != 1 else ''}" for n, what in counted if n)]
    return "Procore has " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


def _finish_unpublished(job: StagedJob, run: SyncRun, reason: str) -> None:
    SyncRun.objects.filter(pk=run.pk).update(outcome=SyncRunOutcome.FAILED, error=reason, finished_at=timezone.now())
    StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.FAILED, publish_error=reason)


def _project(client, job, project) -> int:
    if project.procore_id:
        return 0
    origin = job_origin_id(job)
    found = client.project_by_origin(origin)
    if found is None:
        payload = {
            "name": project.name, "project_number": project.project_number, "origin_id": origin,
            "origin_code": job.job_code, "active": True,
            **{k: v for k, v in {"address": project.address, "city": project.city, "state_code": project.state,
                                 "zip": project.zip, "country_code": project.country,
                                 "start_date": project.start_date.isoformat() if project.start_date else "",
                                 "completion_date": project.completion_date.isoformat() if project.completion_date else "",
                                 "project_template_id": project.procore_template_id}.items() if v},
        }
        found = client.project_create(payload)
    project.procore_id = found["id"]
    project.save(update_fields=["procore_id"])
    return 1


def _sub_jobs(client, job, project) -> int:
    pending = list(SubJob.objects.filter(project=project, procore_id__isnull=True))
    if not pending:
        return 0
    origin = {f"{job.connection.kind}:{job.erp_company_code}:{s.code}": s for s in pending}
    entities, errors = client.sync("/rest/v1.0/sub_jobs/sync", [
        {"origin_id": key, "code": s.code, "name": s.name} for key, s in origin.items()
    ], params={"project_id": project.procore_id}, body={"project_id": project.procore_id})
    for e in entities:
        if e.get("origin_id") in origin:
            origin[e["origin_id"]].procore_id = e.get("id")
    SubJob.objects.bulk_update(pending, ["procore_id"])
    _raise_item_errors(errors, lambda item: f"sub job {item.get('code')}")
    return len(entities)


def _raise_item_errors(errors: list, describe) -> None:
    if errors:
        lines = [f"{describe(item)}: {item_errors_text(item)}" for item in errors[:20]]
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise PublishItemErrors("Procore refused some items: " + "; ".join(lines) + more + ".")


def _cost_types(client, job, project) -> int:
    types = CostType.objects.filter(budget_lines__project=project, budget_lines__from_erp=True).distinct()
    pending = [t for t in types if not t.procore_id]
    if not pending:
        return 0
    prefix = f"{job.connection.kind}:{job.erp_company_code}:type:"
    entities, errors = client.sync("/rest/v1.0/line_item_types/sync", [
        {"origin_id": prefix + t.code, "name": t.name, "csv_import_code": t.code, "base_type": BASE_TYPES.get(t.base_type, "other")}
        for t in pending
    ], body={"company_id": client.company_id})
    by_origin = {e.get("origin_id"): e.get("id") for e in entities}
    for t in pending:
        if prefix + t.code in by_origin:
            t.procore_id = by_origin[prefix + t.code]
    CostType.objects.bulk_update(pending, ["procore_id"])
    _raise_item_errors(errors, lambda item: f"cost type {item.get('csv_import_code', item.get('origin_id'))}")
    return len(pending)


def _cost_codes(client, job, project) -> int:
    """The ERP's cost codes: divisions first, each level once its parents have Procore ids; sub jobs' codes apart.

    Codes renamed since they reached Procore are sent again. In a Procore project that existed
    before it was linked, codes with the same full code are taken over (stamped with our origin
    id) rather than made twice.
    """
    sent = 0
    for sub_job in [None, *SubJob.objects.filter(project=project).order_by("code")]:
        codes = list(CostCode.objects.filter(project=project, sub_job=sub_job))
        by_id = {c.pk: c for c in codes}
        codes = [c for c in codes if c.from_erp]
        scope = f"{job_origin_id(job)}:{sub_job.code + ':' if sub_job else ''}code:"
        params = {"project_id": project.procore_id, **({"sub_job_id": sub_job.procore_id} if sub_job else {})}
        describe = lambda c: f"cost code {c.code}" + (f" of sub job {sub_job.code}" if sub_job else "")  # noqa: E731

        def item(c):
            parent = by_id.get(c.parent_id)
            return {"origin_id": scope + c.code, "code": c.code.removeprefix(f"{parent.code}-") if parent else c.code,
                    "name": c.description or c.code, **({"parent_id": parent.procore_id} if parent else {})}

        if project.procore_adopted and any(not c.procore_id for c in codes):
            _take_over_codes(client, params, scope, codes)
        while True:
            level = [c for c in codes if not c.procore_id and (c.parent_id is None or (by_id.get(c.parent_id) and by_id[c.parent_id].procore_id))]
            if not level:
                break
            origin = {scope + c.code: c for c in level}
            entities, errors = client.sync("/rest/v1.0/cost_codes/sync", [item(c) for c in level], params=params)
            for e in entities:
                if e.get("origin_id") in origin:
                    origin[e["origin_id"]].procore_id = e.get("id")
                    origin[e["origin_id"]].procore_outdated = False
            CostCode.objects.bulk_update(level, ["procore_id", "procore_outdated"], batch_size=1000)
            sent += len(entities)
            _raise_item_errors(errors, lambda i: describe(origin[i["origin_id"]]) if i.get("origin_id") in origin else f"cost code {i.get('code')}")
            unanswered = sorted(c.code for c in level if not c.procore_id)
            if unanswered:  # neither made with an id nor refused: sending them again would never end
                raise PublishItemErrors(f"Procore's answer to the cost codes sync has no id for cost code(s) {', '.join(unanswered[:10])}.")
        outdated = {c.procore_id: c for c in codes if c.procore_id and c.procore_outdated}
        if outdated:  # renamed in the ERP, or taken over: Procore's record gets our name and origin id
            entities, errors = client.sync("/rest/v1.0/cost_codes/sync", [{"id": pid, **item(c)} for pid, c in outdated.items()],
                                           params=params)
            answered = [outdated[e["id"]] for e in entities if e.get("id") in outdated]
            for c in answered:
                c.procore_outdated = False
            CostCode.objects.bulk_update(answered, ["procore_outdated"], batch_size=1000)
            sent += len(answered)
            _raise_item_errors(errors, lambda i: describe(outdated[i["id"]]) if i.get("id") in outdated else f"cost code {i.get('code')}")
    return sent


def _take_over_codes(client, params: dict, scope: str, codes: list) -> None:
    """Match the codes not in Procore yet to the project's own Procore codes by full code (theirs, or made by no integration)."""
    listed = {c["id"]: c for c in client.cost_codes(params["project_id"], params.get("sub_job_id")) if isinstance(c.get("id"), int)}

    def full_code(entity, depth=0) -> str:
        parent = listed.get(entity.get("parent_id"))
        return f"{full_code(parent, depth + 1)}-{entity.get('code')}" if parent and depth < 20 else str(entity.get("code"))

    ours = {full_code(e): pid for pid, e in listed.items() if not e.get("origin_id") or str(e["origin_id"]).startswith(scope)}
    matched = [c for c in codes if not c.procore_id and c.code in ours]
    for c in matched:
        c.procore_id, c.procore_outdated = ours[c.code], True
    CostCode.objects.bulk_update(matched, ["procore_id", "procore_outdated"], batch_size=1000)


def _assignments(client, job, project) -> int:
    lines = list(BudgetLine.objects.filter(project=project, from_erp=True, assigned_in_procore=False).select_related("cost_code", "cost_type"))
    if not lines:
        return 0
    entities, errors = client.sync("/rest/v1.0/cost_code_line_item_types/sync", [
        {"cost_code_id": l.cost_code.procore_id, "line_item_type_id": l.cost_type.procore_id, "synced": True} for l in lines
    ], params={"project_id": project.procore_id})
    # Procore answers with the assignments it made, keyed by the pair; an id of their own is kept where it comes.
    made = {(e.get("cost_code_id"), e.get("line_item_type_id")): e.get("id") for e in entities if isinstance(e, dict)}
    for l in lines:
        pair = (l.cost_code.procore_id, l.cost_type.procore_id)
        if pair in made:
            l.assigned_in_procore, l.procore_id = True, made[pair]
    BudgetLine.objects.bulk_update(lines, ["assigned_in_procore", "procore_id"], batch_size=1000)
    _raise_item_errors(errors, lambda item: f"cost code id {item.get('cost_code_id')} × cost type id {item.get('line_item_type_id')}")
    return len(entities)


def _job_costs(client, job, project) -> int:
    """The job costs that have not reached Procore as they are now: never pushed, or changed since."""
    costs = list(JobCost.objects.filter(budget_line__project=project, budget_line__from_erp=True, budget_line__assigned_in_procore=True).filter(
        Q(pushed_at__isnull=True) | Q(pushed_at__lt=F("as_of"))).select_related("budget_line__cost_code", "budget_line__cost_type"))
    if not costs:
        return 0
    started = timezone.now()
    entities, errors = client.sync("/rest/v1.0/erp_job_costs/sync", [
        {"cost_code_id": c.budget_line.cost_code.procore_id, "line_item_type_id": c.budget_line.cost_type.procore_id,
         "original_estimate": str(c.original_budget), "approved_estimate_changes": str(c.approved_changes),
         "estimate": str(c.revised_budget), "committed_costs": str(c.committed_cost), "job_to_date_cost": str(c.job_to_date_cost),
         "job_to_date_units": str(c.job_to_date_units), "month_to_date_cost": str(c.month_to_date_cost),
         "percentage_complete": str(c.percent_complete)}
        for c in costs
    ], body={"company_id": client.company_id, "job_origin_id": job_origin_id(job)})
    _raise_item_errors(errors, lambda item: f"job cost of cost code id {item.get('cost_code_id')}")
    JobCost.objects.filter(pk__in=[c.pk for c in costs]).update(pushed_at=started)
    return len(entities)


def procore_push_job_costs(*, job: StagedJob) -> int:
    """After a job-cost sync: push the job costs that changed since they last reached Procore."""
    connection = ProcoreConnection.objects.filter(company=job.company).first()
    if connection is None or job.publish_status != PublishStatus.PUBLISHED or not job.project or not job.project.procore_id:
        return 0
    try:
        return _job_costs(connection.client(), job, job.project)
    except ConnectorError as exc:
        raise ApplicationError(exc.message) from exc
