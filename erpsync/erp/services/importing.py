"""Import: an approved ERP job becomes a project with its cost structure and job costs."""

from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from erpsync.companies.models import Company, Membership
from erpsync.companies.permissions import IMPORT_REQUIREMENT, can_import_erp_job
from erpsync.connectors.base import BudgetLineRecord, ConnectorError, job_costs_from
from erpsync.erp.models import ErpSettings, ProcoreConnection, StagedCostType, StagedJob, StagedJobStatus, SyncRunKind
from erpsync.erp.rules import resolved_parents
from erpsync.erp.services.publish import procore_publish_enqueue
from erpsync.erp.services.audit import audit_event_record
from erpsync.erp.services.runs import sync_run_recording
from erpsync.erp.services.validate import erp_job_validate, structure_of
from erpsync.errors import ApplicationError, ImportBlocked, NotFound, PermissionRefused, ProjectLimitReached
from erpsync.projects.amounts import money, money_fits, quantity, quantity_fits
from erpsync.projects.bulk import bulk_insert, gc_paused
from erpsync.projects.models import (
    BaseType,
    BudgetLine,
    CostCode,
    CostTransaction,
    CostType,
    JobCost,
    Project,
    ProjectTeamMember,
    ProjectTemplate,
    SubJob,
)

BATCH = 5000
JOB_COST_FIGURES = (
    "original_budget", "approved_changes", "revised_budget", "committed_cost", "job_to_date_cost",
    "job_to_date_units", "month_to_date_cost", "percent_complete",
)
_BASE_TYPE_WORDS = (
    ("labo", BaseType.LABOR),
    ("material", BaseType.MATERIALS),
    ("subcontract", BaseType.COMMITMENT),
    ("commit", BaseType.COMMITMENT),
    ("equip", BaseType.EQUIPMENT),
    ("professional", BaseType.PROFESSIONAL_SERVICES),
)


def base_type_for(code: str, name: str, mapping: dict) -> str:
    """The admin's mapping wins; otherwise a guess from the category name, else Other."""
    if code in mapping:
        return mapping[code]
    lowered = name.lower()
    return next((base for word, base in _BASE_TYPE_WORDS if word in lowered), BaseType.OTHER)


def project_limit_reached(company: Company) -> bool:
    return company.project_limit is not None and Project.objects.filter(company=company).count() >= company.project_limit


def erp_job_import(*, job: StagedJob, template: ProjectTemplate | None, user, progress=None,
                   procore_template_id: int | None = None) -> Project:
    """Create the project for `job`, or return the one an earlier import made."""
    company = job.company
    membership = Membership.objects.filter(user=user, company=company).first()
    if not can_import_erp_job(membership):
        raise PermissionRefused(IMPORT_REQUIREMENT)
    if template is not None and template.company_id != company.pk:
        raise NotFound("That project template does not exist in this company.")
    if job.status == StagedJobStatus.SYNCED and job.project_id:
        return job.project
    if job.is_sub_job:
        raise ImportBlocked(f"Job {job.job_code} is a sub job of {job.controlling_code}; add {job.controlling_code} and its sub jobs come with it.")

    with (
        sync_run_recording(company=company, kind=SyncRunKind.IMPORT, connection=job.connection, user=user, progress=progress,
                           job=job) as (run, report),
        gc_paused(),
    ):
        # Read the posted detail before the transaction: a slow ERP must not hold locks.
        sub_job_codes = set(
            StagedJob.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code, controlling_code=job.job_code)
            .exclude(status=StagedJobStatus.ARCHIVED).values_list("job_code", flat=True)
        )
        report(0, 3, "Reading job costs")
        transactions = [
            t for t in job.connection.source().cost_transactions(job_codes={job.job_code, *sub_job_codes})
            if t.company_code == job.erp_company_code
        ]
        report(1, 3, "Creating project")
        try:
            with transaction.atomic():
                project, created, made = _create(job, template, user, transactions, sub_job_codes, procore_template_id)
        except IntegrityError:
            # A concurrent import of the same job won the race; ours changed nothing.
            job.refresh_from_db()
            if job.project_id:
                run.project = job.project
                run.counts = {"created": False}
                return job.project
            raise
        run.project = project
        run.counts = {"created": created, **made} if created else {"created": False}
        report(3, 3, "Done")
    if created and ProcoreConnection.objects.filter(company=company).exists():
        procore_publish_enqueue(job=job)
    return project


def _create(job: StagedJob, template, user, transactions, sub_job_codes, procore_template_id=None):
    # Serialises imports per company. NO KEY: rows that merely point at the company (audit events a
    # refresh writes while it holds its staged jobs) must not wait for us, or we would deadlock with it.
    Company.objects.select_for_update(no_key=True).get(pk=job.company_id)
    job = StagedJob.objects.select_for_update(of=("self",)).select_related("connection", "company").get(pk=job.pk)
    if job.status == StagedJobStatus.SYNCED and job.project_id:
        return job.project, False, {}
    if job.status == StagedJobStatus.ARCHIVED:
        raise ImportBlocked(f"Job {job.job_code} is archived; restore it before adding it.")
    problems = erp_job_validate(job=job)
    if problems:
        raise ImportBlocked(
            f"Job {job.job_code} cannot be added: " + " ".join(p["message"] for p in problems),
            extra={"problems": problems},
        )
    company = job.company
    if project_limit_reached(company):
        raise ProjectLimitReached(
            f"{company.name} has reached its limit of {company.project_limit} projects; "
            "archive or delete a project, or ask to raise the limit, before adding another."
        )

    project = Project(
        company=company,
        project_number=job.job_code,
        name=job.name,
        address=job.address,
        city=job.city,
        state=job.state,
        zip=job.zip,
        start_date=job.start_date,
        completion_date=job.end_date,
        template=template,
        erp_kind=job.connection.kind,
        erp_company_code=job.erp_company_code,
        erp_job_code=job.job_code,
        created_by=user,
        procore_template_id=procore_template_id,
    )
    if template is not None:
        project.stage = template.stage
        project.project_type = template.project_type
        project.office = template.office
        project.time_zone = template.time_zone
    project.full_clean(validate_unique=False, validate_constraints=False)
    project.save()
    if template is not None:
        ProjectTeamMember.objects.bulk_create(
            ProjectTeamMember(project=project, user_id=m.user_id, role=m.role) for m in template.team.all()
        )

    staged = {job.job_code: job}
    for sub in StagedJob.objects.select_for_update().filter(
        connection=job.connection, erp_company_code=job.erp_company_code, job_code__in=sub_job_codes
    ):
        staged[sub.job_code] = sub
    sub_jobs = {None: None}
    for code, s in staged.items():
        if code != job.job_code:
            sub_jobs[code] = SubJob.objects.create(project=project, code=code, name=s.name)

    counts = _create_cost_structure(project, job, staged, sub_jobs, transactions)

    now = timezone.now()
    for s in staged.values():
        s.status = StagedJobStatus.SYNCED
        s.project = project
        s.last_job_cost_sync_at = now
    StagedJob.objects.bulk_update(staged.values(), ["status", "project", "last_job_cost_sync_at"])
    audit_event_record(
        company=company, actor=user, action="erp_job.imported", obj=project,
        after={"erp_job": job.job_code, "template": template.name if template else None, **counts},
    )
    return project, True, counts


def _cost_types_for(project, job, category_codes: set[str]) -> dict[str, CostType]:
    company = project.company
    existing = {ct.code: ct for ct in CostType.objects.filter(company=company, code__in=category_codes)}
    missing = category_codes - existing.keys()
    if missing:
        names = dict(
            StagedCostType.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code, code__in=missing)
            .values_list("code", "name")
        )
        settings = ErpSettings.objects.filter(company=company).first()
        mapping = settings.base_type_mapping if settings else {}
        CostType.objects.bulk_create(
            [CostType(company=company, code=code, name=names.get(code, code), base_type=base_type_for(code, names.get(code, ""), mapping)) for code in sorted(missing)],
            ignore_conflicts=True,  # another company-level import may add the same type meanwhile
        )
        existing = {ct.code: ct for ct in CostType.objects.filter(company=company, code__in=category_codes)}
    return existing


def _create_cost_structure(project, job, staged: dict, sub_jobs: dict, transactions) -> dict:
    codes_by_job = defaultdict(list)
    lines_by_job = defaultdict(list)
    for s in staged.values():
        codes, lines = structure_of(s)
        parents = resolved_parents(codes)
        codes_by_job[s.job_code] = [(code, name, parents[code], active) for code, name, _, active in codes]
        lines_by_job[s.job_code] = [
            BudgetLineRecord(s.erp_company_code, s.job_code, phase, category, active, *(Decimal(amount) for amount in amounts))
            for phase, category, active, *amounts in lines
        ]
    cost_types = _cost_types_for(project, job, {l.category_code for lines in lines_by_job.values() for l in lines})

    # Cost codes level by level, so every parent has its id before its children are written.
    created_codes: dict[tuple[str, str], CostCode] = {}
    for job_code, rows in codes_by_job.items():
        sub_job = sub_jobs[None if job_code == job.job_code else job_code]
        pending = rows
        while pending:
            level = [r for r in pending if not r[2] or (job_code, r[2]) in created_codes]
            if not level:
                raise ApplicationError(f"The cost codes of job {job_code} form a loop through their parents.")
            objs = CostCode.objects.bulk_create(
                [
                    CostCode(project=project, sub_job=sub_job, code=c, description=n, active=a,
                             parent=created_codes.get((job_code, p)), from_erp=True)
                    for c, n, p, a in level
                ],
                batch_size=BATCH,
            )
            created_codes.update(((job_code, o.code), o) for o in objs)
            done = {r[0] for r in level}
            pending = [r for r in pending if r[0] not in done]

    bulk_insert(
        BudgetLine,
        ["project", "cost_code", "cost_type", "from_erp"],
        [
            (project.pk, created_codes[(job_code, r.phase_code)].pk, cost_types[r.category_code].pk, True)
            for job_code, records in lines_by_job.items() for r in records
        ],
    )
    code_key = {o.pk: (code, job_code) for (job_code, code), o in created_codes.items()}
    type_code = {ct.pk: code for code, ct in cost_types.items()}
    line_pks = {
        (*code_key[cc], type_code[tc]): pk
        for pk, cc, tc in BudgetLine.objects.filter(project=project).values_list("pk", "cost_code_id", "cost_type_id")
    }

    now = timezone.now()
    tx_by_job = defaultdict(list)
    for t in transactions:
        tx_by_job[t.job_code].append(t)
    cost_rows = []
    for job_code, records in lines_by_job.items():
        for f in job_costs_from(records, tx_by_job.get(job_code, []), as_of=timezone.localdate(now)):
            cost_rows.append((line_pks[(f.phase_code, job_code, f.category_code)], now, *(getattr(f, name) for name in JOB_COST_FIGURES)))
    bulk_insert(JobCost, ["budget_line", "as_of", *JOB_COST_FIGURES], cost_rows)

    def transaction_rows():
        for t in transactions:
            pk = line_pks.get((t.phase_code, t.job_code, t.category_code))
            if pk is None:
                raise ConnectorError(
                    f"{t.where}: posted cost {t.number} is on cost code {t.phase_code} × category {t.category_code}, "
                    f"which is not a budget line of job {t.job_code}; refresh, then try again."
                )
            if not (money_fits(t.amount) and quantity_fits(t.units)):
                money(t.amount, t.where)
                quantity(t.units, t.where)
            yield (pk, t.number, t.posted_on, t.amount, t.units, t.source, t.reference, True)

    written = bulk_insert(
        CostTransaction, ["budget_line", "erp_key", "date", "amount", "units", "source", "reference", "from_erp"], transaction_rows()
    )
    return {"cost_codes": len(created_codes), "budget_lines": len(line_pks), "cost_transactions": written, "sub_jobs": len(sub_jobs) - 1}
