from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.services import erp_job_unarchive


class Command(ErpCommand):
    help = "Restore an archived ERP job to Ready to Import."

    def add_arguments(self, parser):
        parser.add_argument("job_code")
        parser.add_argument("--user", required=True)
        self.add_company_argument(parser)
        self.add_json_argument(parser)

    def handle(self, *args, **options):
        user = self.user(options["user"])
        job = self.job(self.company(options["company"], user), options["job_code"])
        job = erp_job_unarchive(job=job, user=user)
        if options["json"]:
            self.print_json({"job_code": job.job_code, "status": job.status})
        else:
            self.stdout.write(f"Job {job.job_code} is now {job.get_status_display()}.")
