import argparse

from django.utils import timezone

from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.models import SyncRun, SyncRunOutcome


class Command(ErpCommand):
    help = "List recent runs (refreshes, imports, job-cost syncs, publishes) with their status, step, lease and reason."

    def add_arguments(self, parser):
        self.add_company_argument(parser)
        self.add_json_argument(parser)
        parser.add_argument("--status", choices=SyncRunOutcome.values, help="only runs with this status")
        parser.add_argument("--limit", type=_positive, default=20, help="how many of the newest runs (default 20)")

    def handle(self, *args, **options):
        company = self.company(options["company"])
        runs = SyncRun.objects.filter(company=company).select_related("connection", "project", "job").order_by("-created_at", "-pk")
        if options["status"]:
            runs = runs.filter(outcome=options["status"])
        now = timezone.now()
        rows = [
            {
                "id": run.pk,
                "kind": run.kind,
                "connection": run.connection.name if run.connection else None,
                "project": run.project.project_number if run.project else None,
                "job": run.job.job_code if run.job else None,
                "status": run.outcome,
                "step": run.progress_label,
                "started": timezone.localtime(run.started_at).isoformat() if run.started_at else None,
                "lease_age_seconds": round((now - run.heartbeat_at).total_seconds())
                if run.heartbeat_at and run.outcome == SyncRunOutcome.RUNNING else None,
                "reason": run.error,
            }
            for run in runs[: options["limit"]]
        ]
        if options["json"]:
            self.print_json(rows)
            return
        self.stdout.write(f"{'run':>6} {'kind':<10} {'job, project or connection':<26} {'status':<12} {'started':<16} step")
        for r in rows:
            where = f"job {r['job']}" if r["job"] else r["project"] or r["connection"] or "—"
            lease = f"lease {r['lease_age_seconds']} s ago" if r["status"] == "running" and r["lease_age_seconds"] is not None else ""
            started = r["started"][:16].replace("T", " ") if r["started"] else "not started"
            self.stdout.write(f"{r['id']:>6} {r['kind']:<10} {where[:26]:<26} {r['status']:<12} {started:<16} "
                              f"{r['step']}{'; ' + lease if lease else ''}".rstrip())
            if r["reason"]:
                self.stdout.write(f"{'':>6} {r['reason']}")
        self.stdout.write(f"{len(rows)} run{'s' if len(rows) != 1 else ''}.")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give 1 or more")
    return value
