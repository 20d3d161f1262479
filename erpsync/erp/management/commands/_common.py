"""What the erp_* commands share: finding the company, user, job and connection; progress bars."""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from erpsync.companies.models import Company
from erpsync.erp.models import ErpConnection, StagedJob
from erpsync.errors import ApplicationError


class ErpCommand(BaseCommand):
    """Turns ApplicationError into a one-line CommandError, so users never see a traceback."""

    def add_company_argument(self, parser):
        parser.add_argument("--company", help="company slug or name (needed when there are several)")

    def add_json_argument(self, parser):
        parser.add_argument("--json", action="store_true", help="print machine-readable results")

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

    def user(self, username: str):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"There is no user {username!r}.") from None

    def company(self, name: str | None, user=None) -> Company:
        companies = Company.objects.all()
        if user is not None:
            companies = companies.filter(memberships__user=user)
        if name:
            found = [c for c in companies if name in (c.slug, c.name)]
            if not found:
                raise CommandError(f"There is no company {name!r}" + (f" that {user.username} belongs to." if user else "."))
            return found[0]
        companies = list(companies[:2])
        if len(companies) != 1:
            raise CommandError("Name the company with --company." if companies else "There is no company yet; run manage.py demo_load.")
        return companies[0]

    def connection(self, company: Company, name: str | None = None) -> ErpConnection:
        connections = company.erp_connections.all()
        if name:
            connections = connections.filter(name=name)
        found = list(connections[:2])
        if len(found) != 1:
            raise CommandError(
                f"{company.name} has no ERP connection{f' named {name!r}' if name else ''}." if not found
                else "Name the connection with --connection."
            )
        return found[0]

    def job(self, company: Company, job_code: str, connection_name: str | None = None) -> StagedJob:
        jobs = StagedJob.objects.filter(company=company, job_code=job_code).select_related("connection", "company")
        if connection_name:
            jobs = jobs.filter(connection__name=connection_name)
        jobs = list(jobs[:2])
        if not jobs:
            raise CommandError(f"{company.name} has no ERP job {job_code!r}"
                               f"{f' from the connection {connection_name!r}' if connection_name else ''}; "
                               "run manage.py erp_refresh first.")
        if len(jobs) > 1:
            raise CommandError(f"Job code {job_code!r} exists in more than one ERP company or connection; "
                               "name the connection with --connection.")
        return jobs[0]

    def progress_bar(self):
        """A callback drawing a progress bar on a terminal, and doing nothing elsewhere."""
        if not sys.stderr.isatty():
            return None
        bar = tqdm(total=0, unit="step", leave=False)

        def update(done: int, total: int, label: str = "") -> None:
            bar.total = total
            bar.n = done
            bar.set_description(label)
            bar.refresh()

        return update

    def print_json(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2, default=str))


class JobStatusCommand(ErpCommand):
    """Moves one staged job between statuses through `service` (archive or restore)."""

    service = None

    def add_arguments(self, parser):
        parser.add_argument("job_code")
        parser.add_argument("--user", required=True)
        self.add_company_argument(parser)
        parser.add_argument("--connection", help="the connection the job comes from (needed when two stage the same job code)")
        self.add_json_argument(parser)

    def handle(self, *args, **options):
        user = self.user(options["user"])
        job = self.job(self.company(options["company"], user), options["job_code"], options["connection"])
        job = type(self).service(job=job, user=user)
        if options["json"]:
            self.print_json({"job_code": job.job_code, "status": job.status})
        else:
            self.stdout.write(f"Job {job.job_code} is now {job.get_status_display()}.")
