import pytest

from erpsync.erp.models import AuditEvent, StagedJob, StagedJobStatus
from erpsync.erp.services import erp_job_archive, erp_job_import, erp_job_unarchive, erp_refresh
from erpsync.errors import ApplicationError, PermissionRefused


@pytest.fixture
def job(connection):
    erp_refresh(connection=connection)
    return StagedJob.objects.get(job_code="24001")


def test_archiving_takes_the_job_out_of_ready_to_import_and_restoring_brings_it_back(job, accountant):
    assert erp_job_archive(job=job, user=accountant).status == StagedJobStatus.ARCHIVED
    assert not StagedJob.objects.filter(status=StagedJobStatus.READY).exists()
    assert erp_job_unarchive(job=job, user=accountant).status == StagedJobStatus.READY
    assert list(AuditEvent.objects.filter(object_type="stagedjob", object_id=str(job.pk)).order_by("created_at", "pk").values_list("action", "actor__username")) == [
        ("erp_job.archived", "accountant"), ("erp_job.restored", "accountant")]


def test_read_only_users_and_outsiders_cannot_archive_or_restore(job, viewer, outsider, pm):
    for user in (viewer, outsider):
        with pytest.raises(PermissionRefused, match="needs Standard or Admin on ERP Integrations"):
            erp_job_archive(job=job, user=user)
    erp_job_archive(job=job, user=pm)
    for user in (viewer, outsider):
        with pytest.raises(PermissionRefused):
            erp_job_unarchive(job=job, user=user)
    assert StagedJob.objects.get(pk=job.pk).status == StagedJobStatus.ARCHIVED


def test_a_synced_job_cannot_be_archived(job, pm):
    erp_job_import(job=job, template=None, user=pm)
    with pytest.raises(ApplicationError, match="is already a project, so it cannot be archived"):
        erp_job_archive(job=job, user=pm)
    assert StagedJob.objects.get(pk=job.pk).status == StagedJobStatus.SYNCED


def test_archiving_twice_is_harmless(job, pm):
    erp_job_archive(job=job, user=pm)
    erp_job_archive(job=job, user=pm)
    assert AuditEvent.objects.filter(action="erp_job.archived").count() == 1
