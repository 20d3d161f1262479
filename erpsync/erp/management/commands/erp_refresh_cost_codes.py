from django.core.management.base import CommandError

from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.management.commands.erp_link import plan_lines
from erpsync.erp.services import cost_codes_preview, cost_codes_refresh
from erpsync.projects.models import Project


class Command(ErpCommand):
    help = "Bring a synced project's cost codes up to date with the ERP, as USER (--dry-run: only say what would change)."

    def add_arguments(self, parser):
        parser.add_argument("project_number")
        parser.add_argument("--user", required=True)
        self.add_company_argument(parser)
        parser.add_argument("--dry-run", action="store_true", help="print what would change, and change nothing")
        self.add_json_argument(parser)

    def handle(self, *args, **options):
        user = self.user(options["user"])
        company = self.company(options["company"], user)
        project = Project.objects.filter(company=company, project_number=options["project_number"]).first()
        if project is None:
            raise CommandError(f"{company.name} has no project {options['project_number']!r}.")
        if options["dry_run"]:
            plan = cost_codes_preview(project=project, user=user)
        else:
            plan, _ = cost_codes_refresh(project=project, user=user, progress=self.progress_bar())
        if options["json"]:
            self.print_json({"project_number": project.project_number, "applied": not options["dry_run"], **plan.as_dict()})
            if plan.problems:
                raise CommandError(f"The cost codes of project {project} cannot be refreshed yet (see above).")
            return
        self.stdout.write(f"Project {project} {'would change' if options['dry_run'] else 'changed'} as follows"
                          f"{' (nothing is changed now)' if options['dry_run'] else ''}:")
        self.stdout.write("\n".join(plan_lines(plan, "the ERP", project.erp_job_code)))
        for message in plan.problems:
            self.stdout.write(f"It cannot be refreshed yet: {message}")
        if plan.problems:
            raise CommandError(f"The cost codes of project {project} cannot be refreshed yet (see above).")
