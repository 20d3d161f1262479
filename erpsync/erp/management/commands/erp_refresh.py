from erpsync.erp.management.commands._common import ErpCommand
from erpsync.erp.services import erp_refresh


class Command(ErpCommand):
    help = "Pull the ERP's jobs into Ready to Import (all or nothing)."

    def add_arguments(self, parser):
        self.add_company_argument(parser)
        self.add_json_argument(parser)
        parser.add_argument("--connection", help="connection name (needed when the company has several)")
        parser.add_argument("--user", help="run as this user (their permissions are checked); default: the system")
        parser.add_argument("--full", action="store_true", help="pull everything, not only what changed since the last refresh")

    def handle(self, *args, **options):
        user = self.user(options["user"]) if options["user"] else None
        company = self.company(options["company"], user)
        connection = self.connection(company, options["connection"])
        run = erp_refresh(connection=connection, user=user, progress=self.progress_bar(), full=options["full"])
        if options["json"]:
            self.print_json({"run": run.pk, "outcome": run.outcome, "counts": run.counts})
        else:
            c = run.counts
            self.stdout.write(
                f"Refreshed {connection.name}: {c['jobs']} job{'s' if c['jobs'] != 1 else ''} ({c['new']} new, {c['changed']} changed), "
                f"{c['cost_codes']} cost codes, {c['budget_lines']} budget lines."
            )
