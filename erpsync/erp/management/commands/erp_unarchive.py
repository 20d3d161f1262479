from erpsync.erp.management.commands._common import JobStatusCommand
from erpsync.erp.services import erp_job_unarchive


class Command(JobStatusCommand):
    help = "Restore an archived ERP job to Ready to Import."
    service = erp_job_unarchive
