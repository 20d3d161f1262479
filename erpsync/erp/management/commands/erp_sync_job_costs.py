from django.core.management.base import CommandError

from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.services import job_costs_sync
from erpsync.errors import ApplicationError
from erpsync.projects.models import Project


class Command(ErpCommand):
    help = "Pull job costs for one synced project, or for every synced project."

    def add_arguments(self, parser):
        parser.add_argument("project_number", nargs="?")
        self.add_company_argument(parser)
        self.add_json_argument(parser)

    def handle(self, *args, project_number=None, **options):
        company = self.company(options["company"])
        if project_number:
            project = Project.objects.filter(company=company, project_number=project_number).first()
            if project is None:
                raise CommandError(f"{company.name} has no project {project_number!r}.")
            projects = [project]
        else:
            ids = StagedJob.objects.filter(company=company, status=StagedJobStatus.SYNCED, controlling_code="").values_list("project_id", flat=True)
            projects = list(Project.objects.filter(pk__in=ids).order_by("project_number"))
        results, failures = [], 0
        for project in projects:
            try:
                run = job_costs_sync(project=project, progress=self.progress_bar())
                results.append({"project": project.project_number, "outcome": run.outcome, "counts": run.counts})
            except ApplicationError as exc:
                if len(projects) == 1:
                    raise
                failures += 1
                results.append({"project": project.project_number, "outcome": "failed", "error": exc.message})
        if options["json"]:
            self.print_json(results)
        else:
            for r in results:
                detail = r.get("error") or ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in r["counts"].items())
                self.stdout.write(f"{r['project']}: {r['outcome']} ({detail})")
            self.stdout.write(f"{len(results)} project(s) synced, {failures} failed.")
        if failures:
            raise CommandError(f"{failures} job-cost sync(s) failed.")
