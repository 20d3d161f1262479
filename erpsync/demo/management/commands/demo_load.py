from django.core.management.base import BaseCommand

from erpsync.demo.services import DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Create the demo company, users and CMiC connection, and refresh once. Keeps existing data."

    def handle(self, *args, **options):
        company = demo_load()
        self.stdout.write(f"Demo company: {company.name} ({company.staged_jobs.count()} ERP jobs staged)")
        for username, password, full_name, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<11} password {password:<16} {full_name}")
