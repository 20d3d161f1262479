"""Run the web server, the task worker and the scheduler together until interrupted."""

import signal
import subprocess
import sys

from django.core.management.base import BaseCommand

from erpsync.demo.services import DEMO_USERS


class Command(BaseCommand):
    help = "Serve erpsync: web server, background task worker and job-cost scheduler in one terminal."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        python = sys.executable
        processes = [
            subprocess.Popen([python, "manage.py", "db_worker", "--interval", "1", "--no-reload"]),
            subprocess.Popen([python, "manage.py", "crontask"]),
            subprocess.Popen([python, "manage.py", "runserver", addr, "--noreload", "--skip-checks"]),
        ]
        self.stdout.write(self.style.SUCCESS(f"\nerpsync is running at http://{addr}/"))
        self.stdout.write("Sign in as one of the demo users:")
        for username, password, full_name, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {password:<16} {full_name}")
        self.stdout.write("Press Ctrl+C to stop.\n")
        try:
            while all(p.poll() is None for p in processes):
                try:
                    processes[-1].wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        except KeyboardInterrupt:
            pass
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        failed = [p for p in processes if p.returncode not in (0, None, -signal.SIGTERM)]
        if failed:
            self.stderr.write("A part of erpsync stopped unexpectedly; see the messages above.")
