from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.selectors import staged_job_list


def _row(job: StagedJob) -> dict:
    return {
        "job_code": job.job_code,
        "name": job.name,
        "kind": "sub job" if job.is_sub_job else "job",
        "erp_company_code": job.erp_company_code,
        "control_job": job.controlling_code or None,
        "erp_status": job.erp_status,
        "cost_codes": job.cost_code_count,
        "status": job.status,
        "project": job.project.project_number if job.project else None,
        "problems": [p["message"] for p in job.problems],
        "new_cost_codes": job.new_cost_codes,  # a synced job: cost codes in the ERP its project does not have yet
    }


class Command(ErpCommand):
    help = ("List the ERP jobs of one status, as the Jobs page does: each job with whether it can be added, "
            "its sub jobs under it (they come with it).")

    def add_arguments(self, parser):
        self.add_company_argument(parser)
        self.add_json_argument(parser)
        parser.add_argument("--status", choices=StagedJobStatus.values, default=StagedJobStatus.READY)

    def handle(self, *args, **options):
        company = self.company(options["company"])
        jobs = list(staged_job_list(company, status=options["status"]))
        subs = {}
        for sub in StagedJob.objects.filter(company=company, controlling_code__in=[j.job_code for j in jobs]).exclude(
                controlling_code="").select_related("project").order_by("job_code"):
            subs.setdefault((sub.connection_id, sub.erp_company_code, sub.controlling_code), []).append(_row(sub))
        rows = [_row(j) | {"sub_jobs": subs.get((j.connection_id, j.erp_company_code, j.job_code), [])} for j in jobs]
        if options["json"]:
            self.print_json(rows)
            return
        for r in rows:
            # What blocks adding a job matters while it waits to be added; an added one shows its project.
            waiting = r["status"] == StagedJobStatus.READY
            mark = ("blocked" if r["problems"] else "ok") if waiting else f"project {r['project']}" if r["project"] else r["status"]
            if r["new_cost_codes"] and not waiting:
                mark += f", {r['new_cost_codes']} new cost code{'s' if r['new_cost_codes'] != 1 else ''} in the ERP"
            self.stdout.write(f"{r['job_code']:<12} {r['name'][:40]:<40} {r['cost_codes']:>5} codes  {mark}")
            for problem in r["problems"] if waiting else ():
                self.stdout.write(f"{'':<12} - {problem}")
            for sub in r["sub_jobs"]:
                self.stdout.write(f"  sub job {sub['job_code']:<12} {sub['name'][:30]:<30} {sub['cost_codes']:>5} codes")
        self.stdout.write(f"{len(rows)} job{'s' if len(rows) != 1 else ''}.")
