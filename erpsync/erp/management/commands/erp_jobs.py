from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.models import StagedJob

STATUSES = {"ready": "ready", "synced": "synced", "archived": "archived"}


class Command(ErpCommand):
    help = "List staged ERP jobs with whether they can be imported."

    def add_arguments(self, parser):
        self.add_company_argument(parser)
        self.add_json_argument(parser)
        parser.add_argument("--status", choices=STATUSES, default="ready")

    def handle(self, *args, **options):
        company = self.company(options["company"])
        jobs = StagedJob.objects.filter(company=company, status=STATUSES[options["status"]]).select_related("project").order_by("job_code")
        rows = [
            {
                "job_code": j.job_code,
                "name": j.name,
                "erp_company_code": j.erp_company_code,
                "controlling_job": j.controlling_code or None,
                "erp_status": j.erp_status,
                "cost_codes": j.cost_code_count,
                "status": j.status,
                "project": j.project.project_number if j.project else None,
                "problems": [p["message"] for p in j.problems],
            }
            for j in jobs
        ]
        if options["json"]:
            self.print_json(rows)
            return
        for r in rows:
            mark = "blocked" if r["problems"] else ("sub job" if r["controlling_job"] else "ok")
            self.stdout.write(f"{r['job_code']:<12} {r['name'][:40]:<40} {r['cost_codes']:>5} codes  {mark}")
            for problem in r["problems"]:
                self.stdout.write(f"{'':<12} - {problem}")
        self.stdout.write(f"{len(rows)} job(s).")
