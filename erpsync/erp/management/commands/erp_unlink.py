from erpsync.erp.management.commands._common import JobStatusCommand
from erpsync.erp.services import erp_job_unlink


class Command(JobStatusCommand):
    help = "Unlink an ERP job from its project, as USER: the project keeps its data, its job costs stop syncing."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--archive", action="store_true", help="archive the job afterwards (default: back to Ready to Import)")

    def handle(self, *args, **options):
        user = self.user(options["user"])
        job = self.job(self.company(options["company"], user), options["job_code"], options["connection"])
        project = job.project
        job = erp_job_unlink(job=job, user=user, archive=options["archive"])
        if options["json"]:
            self.print_json({"job_code": job.job_code, "status": job.status, "project_number": project.project_number if project else None})
        else:
            self.stdout.write(f"Job {job.job_code} is unlinked from project {project}; it is now {job.get_status_display()}.")
