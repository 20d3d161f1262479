from erpsync.erp.management.commands._common import JobStatusCommand
from erpsync.erp.services import erp_job_archive


class Command(JobStatusCommand):
    help = "Archive an ERP job so it is not imported."
    service = erp_job_archive
