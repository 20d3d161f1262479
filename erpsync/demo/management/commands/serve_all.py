"""Run the web server, the task worker and the scheduler together, as one unit a supervisor can manage."""

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

from erpsync.demo.services import DEMO_USERS

GRACE_SECONDS = 10  # how long the children get to stop before they are killed


class Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum, frame):
    raise Stop(signum)


class Command(BaseCommand):
    help = ("Serve erpsync: web server, background task worker and scheduler in one terminal. SIGTERM or Ctrl+C stops "
            "them all; if one stops by itself, the others are stopped too and the exit status is 1.")

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        python = sys.executable
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        children, processes = {}, []
        died = None
        try:
            for name, command in (("task worker", ["db_worker", "--interval", "1", "--no-reload"]),
                                  ("scheduler", ["crontask"]),
                                  ("web server", ["runserver", addr, "--noreload", "--skip-checks"])):
                processes.append(subprocess.Popen([python, "manage.py", *command], preexec_fn=_die_with_parent))
                children[processes[-1].pid] = (name, None)
            self.stdout.write(self.style.SUCCESS(f"\nerpsync is running at http://{addr}/"))
            self.stdout.write("Sign in as one of the demo users:")
            for username, password, full_name, _ in DEMO_USERS:
                self.stdout.write(f"  {username:<11} {password:<16} {full_name}")
            self.stdout.write("Press Ctrl+C to stop.\n", ending="")
            self.stdout.flush()
            pid, status = os.wait()  # until a child stops, or a signal says stop
            died = (children.pop(pid)[0], os.waitstatus_to_exitcode(status))
        except Stop:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not leave children behind
            _stop_all(list(children))
            for process in processes:
                process.poll()  # each has been waited for above; this settles its Popen
        if died:
            name, code = died
            raise CommandError(f"The {name} stopped (exit status {code}); the others were stopped too.", returncode=1)


def _die_with_parent() -> None:
    """In a child, before it starts: on Linux, SIGTERM it when serve_all dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere a supervisor's process group does this


def _stop_all(pids: list[int]) -> None:
    """SIGTERM each child, wait for them all (at most GRACE_SECONDS), then kill what is left."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    waiting = set(pids)

    def reap(signum, frame):  # the timer below ends the grace period
        raise TimeoutError

    signal.signal(signal.SIGALRM, reap)
    signal.alarm(GRACE_SECONDS)
    try:
        while waiting:
            pid, _ = os.wait()
            waiting.discard(pid)
    except TimeoutError:
        for pid in waiting:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in waiting:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    except ChildProcessError:
        pass
    finally:
        signal.alarm(0)
