"""Archive a job so it leaves Ready to Import, or restore it."""

from django.db import transaction

from erpsync.companies.models import Membership
from erpsync.companies.permissions import MANAGE_REQUIREMENT, can_manage_erp_jobs
from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.services.audit import audit_event_record
from erpsync.errors import ApplicationError, PermissionRefused


def _check(job: StagedJob, user) -> None:
    if not can_manage_erp_jobs(Membership.objects.filter(user=user, company=job.company).first()):
        raise PermissionRefused(MANAGE_REQUIREMENT)


def _move(job: StagedJob, user, *, source: str, target: str, action: str, refusal: str) -> StagedJob:
    _check(job, user)
    with transaction.atomic():
        job = StagedJob.objects.select_for_update().get(pk=job.pk)
        if job.status == target:
            return job
        if job.status != source:
            raise ApplicationError(refusal.format(job=job))
        job.status = target
        job.save(update_fields=["status"])
        audit_event_record(company=job.company, actor=user, action=action, obj=job, before={"status": source}, after={"status": target})
    return job


def erp_job_archive(*, job: StagedJob, user) -> StagedJob:
    return _move(
        job, user, source=StagedJobStatus.READY, target=StagedJobStatus.ARCHIVED, action="erp_job.archived",
        refusal="Job {job.job_code} is already a project, so it cannot be archived.",
    )


def erp_job_unarchive(*, job: StagedJob, user) -> StagedJob:
    return _move(
        job, user, source=StagedJobStatus.ARCHIVED, target=StagedJobStatus.READY, action="erp_job.restored",
        refusal="Job {job.job_code} is not archived.",
    )
