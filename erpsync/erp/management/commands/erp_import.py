from django.core.management.base import CommandError

from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.models import ErpSettings
from erpsync.erp.services import erp_job_import
from erpsync.projects.models import ProjectTemplate


class Command(ErpCommand):
    help = "Add an ERP job as a project, as USER (their permissions are checked)."

    def add_arguments(self, parser):
        parser.add_argument("job_code")
        parser.add_argument("--user", required=True)
        self.add_company_argument(parser)
        parser.add_argument("--connection", help="the connection the job comes from (needed when two stage the same job code)")
        self.add_json_argument(parser)
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--template", help="project template name (default: the company's default template)")
        group.add_argument("--no-template", action="store_true", help="do not apply a template")

    def handle(self, *args, **options):
        user = self.user(options["user"])
        company = self.company(options["company"], user)
        job = self.job(company, options["job_code"], options["connection"])
        if options["no_template"]:
            template = None
        elif options["template"]:
            template = ProjectTemplate.objects.filter(company=company, name=options["template"]).first()
            if template is None:
                names = ", ".join(ProjectTemplate.objects.filter(company=company).values_list("name", flat=True))
                raise CommandError(f"{company.name} has no template {options['template']!r}; templates: {names or 'none'}.")
        else:
            settings = ErpSettings.objects.filter(company=company).first()
            template = settings.default_template if settings else None
        project = erp_job_import(job=job, template=template, user=user, progress=self.progress_bar())
        if options["json"]:
            self.print_json({"project_number": project.project_number, "name": project.name, "id": project.pk,
                             "template": template.name if template else None})
        else:
            self.stdout.write(f"Job {job.job_code} is project {project.project_number} {project.name}"
                              f" (template: {template.name if template else 'none'}).")
