from django.core.management.base import CommandError

from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.services import erp_job_link, link_preview, link_suggestions
from erpsync.projects.models import Project


def plan_lines(plan, erp_name: str, control_code: str) -> list[str]:
    """A preview in words, one change per line (codes of sub jobs named with their sub job)."""
    lines = [f"  add cost code {code}{f' (sub job {job})' if job != control_code else ''} {name}" for job, code, name in plan.codes_to_add]
    lines += [f"  rename cost code {code}: {old!r} → {new!r} ({erp_name}'s name)" for _, code, old, new in plan.renamed]
    lines += [f"  make cost code {code} inactive: {erp_name} no longer has it" for _, code, _ in plan.gone]
    lines += [f"  make cost code {code} active again" for _, code in plan.reactivated]
    lines += [f"  make cost code {code} inactive, as {erp_name} has it" for _, code in plan.deactivated]
    lines += [f"  put cost code {code} under {new or 'the top level'} (now under {old or 'the top level'}), as {erp_name} has it"
              for _, code, old, new in plan.moved]
    lines += [f"  add cost type {code} {name}" for code, name in plan.types_to_add]
    lines += [f"  rename the company's cost type {code}: {old!r} → {new!r} ({erp_name}'s name)" for code, old, new in plan.types_renamed]
    lines += [f"  assign cost type {cost_type} to cost code {code}" for _, code, cost_type in plan.lines_to_add]
    lines += [f"  cost code {code} × {cost_type}, already in the project: its budget and costs follow {erp_name} from now on"
              for _, code, cost_type in plan.lines_taken_over]
    if plan.only_in_project:
        lines.append(f"  keep {plan.only_in_project} cost code(s) only in the project as they are")
    return lines or ["  nothing to change"]


class Command(ErpCommand):
    help = ("Link an ERP job to an existing project (its cost codes and job costs merge into it), as USER. "
            "Without PROJECT_NUMBER, list the suggested projects.")

    def add_arguments(self, parser):
        parser.add_argument("job_code")
        parser.add_argument("project_number", nargs="?")
        parser.add_argument("--user", required=True)
        self.add_company_argument(parser)
        parser.add_argument("--connection", help="the connection the job comes from (needed when two stage the same job code)")
        parser.add_argument("--procore-project", help="with a Procore connection: the Procore project id to link, or 'new'")
        parser.add_argument("--dry-run", action="store_true", help="print what linking would change, and change nothing")
        self.add_json_argument(parser)

    def handle(self, *args, **options):
        user = self.user(options["user"])
        company = self.company(options["company"], user)
        job = self.job(company, options["job_code"], options["connection"])
        if options["project_number"] is None:
            return self.suggest(job, user, options["json"])
        project = Project.objects.filter(company=company, project_number=options["project_number"]).first()
        if project is None:
            raise CommandError(f"{company.name} has no project {options['project_number']!r}.")
        if job.status == "synced" and job.project_id == project.pk:
            self.stdout.write(f"Job {job.job_code} is linked to project {project} already; nothing to do.")
            return
        preview = link_preview(job=job, project=project, user=user)
        if options["dry_run"]:
            self.show(preview, options["json"])
            if preview.refusals:
                raise CommandError(f"Job {job.job_code} cannot be linked yet (see above).")
            return
        if preview.refusals:
            raise CommandError(f"Job {job.job_code} cannot be linked: " + " ".join(preview.refusals))
        procore_id = self.procore_choice(preview, options["procore_project"])
        project = erp_job_link(job=job, project=project, user=user, procore_project_id=procore_id, progress=self.progress_bar())
        if options["json"]:
            self.print_json({"job_code": job.job_code, "project_number": project.project_number, "id": project.pk,
                             "procore_project_id": project.procore_id, **preview.plan.as_dict()})
        else:
            self.stdout.write(f"Job {job.job_code} is linked to project {project.project_number} {project.name}.")

    def suggest(self, job, user, as_json: bool) -> None:
        suggestions = link_suggestions(job, user=user)
        if as_json:
            return self.print_json([{"project_number": s.project.project_number, "name": s.project.name, "id": s.project.pk,
                                     "score": s.score, "reasons": s.reasons} for s in suggestions])
        if not suggestions:
            self.stdout.write(f"No unlinked project looks like job {job.job_code}; name one: erp_link {job.job_code} PROJECT_NUMBER.")
        for s in suggestions:
            self.stdout.write(f"{s.project.project_number}\t{s.project.name}\t{s.score}% alike: {'; '.join(s.reasons) or 'alike on the whole'}")

    def show(self, preview, as_json: bool) -> None:
        if as_json:
            return self.print_json({"job_code": preview.job.job_code, "project_number": preview.project.project_number,
                                    **preview.plan.as_dict(), "procore_projects": preview.procore_projects,
                                    "procore_error": preview.procore_error})
        erp_name = preview.job.connection.erp_name
        self.stdout.write(f"Linking job {preview.job.job_code} to project {preview.project} would (nothing is changed now):")
        self.stdout.write("\n".join(plan_lines(preview.plan, erp_name, preview.job.job_code)))
        for p in preview.procore_projects:
            state = f"already linked to {p['linked_to']}" if p["linked_to"] else "free"
            self.stdout.write(f"Procore project {p['id']}: {p['project_number']} {p['name']} ({state})")
        if preview.procore_error:
            self.stdout.write(f"Procore's projects could not be listed: {preview.procore_error}")
        for message in preview.refusals:
            self.stdout.write(f"It cannot be linked yet: {message}")

    def procore_choice(self, preview, chosen: str | None) -> int | None:
        if not preview.procore:
            if chosen:
                raise CommandError("The company has no Procore connection; leave out --procore-project.")
            return None
        free = {str(p["id"]): p for p in preview.procore_projects if not p["linked_to"]}
        if chosen is None:
            if preview.project.procore_id or not free:
                return preview.project.procore_id
            listed = "; ".join(f"{pid} ({p['project_number']} {p['name']})" for pid, p in free.items())
            raise CommandError(f"Procore has projects that may be this one: {listed}. Choose with --procore-project ID, "
                               "or --procore-project new to create one.")
        if chosen == "new":
            if preview.project.procore_id:
                raise CommandError(f"Project {preview.project} is Procore project {preview.project.procore_id} already; "
                                   f"leave out --procore-project, or give {preview.project.procore_id}.")
            return None
        if chosen not in free:
            raise CommandError(f"Procore project {chosen!r} is not one of those listed for this project: "
                               f"{', '.join(free) or 'none'}; run with --dry-run to see them.")
        return int(chosen)
