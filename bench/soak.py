"""Soak: erpsync scaled out on PostgreSQL while its workers are killed at random.

Two gunicorn web processes, three `db_worker`s and the scheduler share one PostgreSQL database
(the task queue). Client threads sign in as the demo's project manager and accountant and, over
HTTP, add jobs as projects, archive and restore them, refresh the ERP, sync job costs and retry
failed publishes, against a generated export and a fake Procore. Meanwhile a chaos loop kills a
random worker with SIGKILL every few seconds and starts a new one. Then the load stops, the
system settles (dead runs are interrupted, interrupted publishes retried, the queue drains), and
it prints:

    actions: attempted, succeeded, refused with a reason, failed
    runs: interrupted, of which then completed
    duplicate projects: <n> (must be 0)
    projects whose registry and fake Procore differ: <n> (must be 0)
    runs left running: <n> (must be 0)

Everything runs on 127.0.0.1, bounded in time (--seconds) and stops by itself.

    .venv/bin/python bench/soak.py [--seconds 120] [--clients 6] [--kill-every 3]
"""

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "erpsync_soak"
PG = ["-h", "127.0.0.1", "-U", "root"]
WORK = Path(tempfile.mkdtemp(prefix="erpsync-soak-"))
os.environ.update({
    "DATABASE_URL": f"postgres://root@127.0.0.1:5432/{DATABASE}", "ERPSYNC_VAR_DIR": str(WORK), "ERPSYNC_DEBUG": "1",
    "ERPSYNC_RUN_LEASE_SECONDS": "5", "ERPSYNC_RUN_REAPER_SCHEDULE": "* * * * *", "DJANGO_SETTINGS_MODULE": "erpsync.settings",
    "ERPSYNC_LOG_LEVEL": "ERROR",
})
sys.path.insert(0, str(ROOT))
subprocess.run(["dropdb", *PG, "--if-exists", DATABASE], check=True)
subprocess.run(["createdb", *PG, DATABASE], check=True)

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.db.models import Count  # noqa: E402

from erpsync.companies.models import Company  # noqa: E402
from erpsync.connectors.procore.fake_server import FakeProcore  # noqa: E402
from erpsync.demo import generator  # noqa: E402
from erpsync.demo.services import DEMO_USERS  # noqa: E402
from erpsync.erp.models import ErpConnection, PublishStatus, StagedJob, StagedJobStatus, SyncRun  # noqa: E402
from erpsync.erp.services import erp_refresh  # noqa: E402
from erpsync.erp.services.publish import job_origin_id, procore_publish_enqueue  # noqa: E402
from erpsync.erp.services.runs import sync_runs_reap  # noqa: E402
from erpsync.erp.services.settings import procore_connection_save  # noqa: E402
from erpsync.projects.models import CostCode, JobCost, Project  # noqa: E402

PASSWORDS = {username: password for username, password, _, _ in DEMO_USERS}


def manage(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def worker() -> subprocess.Popen:
    return manage("db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.2")


def set_up(jobs: int):
    call_command("migrate", verbosity=0)
    call_command("demo_load", verbosity=0)
    company = Company.objects.get()
    export = WORK / "exports" / "demo-builders" / "soak"  # inside the demo company's export folder
    generator.generate(export, generator.Plan(seed=7, control_jobs=jobs, sub_jobs=3, large_job_phases=0,
                                              transactions_per_line=(0, 2)))
    connection = ErpConnection.objects.get(company=company)
    connection.settings = {**connection.settings, "folder": export.name}
    connection.save()
    erp_refresh(connection=connection, full=True)
    return company, connection


class Client:
    """One signed-in user on the web, telling what each action came to."""

    def __init__(self, base: str, username: str):
        self.http = httpx.Client(base_url=base, follow_redirects=True, timeout=60)
        self.http.get("/login/")
        self.http.post("/login/", data={"username": username, "password": PASSWORDS[username],
                                        "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})

    def post(self, path: str, **data) -> tuple[str, str]:
        try:
            response = self.http.post(path, data={"csrfmiddlewaretoken": self.http.cookies["csrftoken"], **data})
        except httpx.HTTPError as exc:
            return "failed", type(exc).__name__
        if response.status_code >= 500:
            return "failed", f"HTTP {response.status_code}"
        refused = re.search(r'class="message error"[^>]*>(.*?)</p>', response.text, re.S)
        if refused or response.status_code >= 400:
            return "refused", (refused.group(1).strip() if refused else f"HTTP {response.status_code}")
        return "succeeded", ""


def pick(queryset):
    ids = list(queryset.values_list("pk", flat=True)[:200])
    return random.choice(ids) if ids else None


def client_loop(base: str, username: str, deadline: float, tally: Counter, reasons: Counter, lock: threading.Lock) -> None:
    client = Client(base, username)
    ready = StagedJob.objects.filter(status=StagedJobStatus.READY, controlling_code="", problems=[])
    try:
        while time.monotonic() < deadline:
            if username == "pm":
                action, path, data = random.choice([
                    ("add", "/erp/jobs/{}/add/", {"template": "none"}), ("archive", "/erp/jobs/{}/archive/", {}),
                    ("restore", "/erp/jobs/{}/restore/", {}), ("retry publish", "/erp/jobs/{}/publish/", {})])
                target = pick({"add": ready, "archive": ready,
                               "restore": StagedJob.objects.filter(status=StagedJobStatus.ARCHIVED, controlling_code=""),
                               "retry publish": StagedJob.objects.filter(publish_status__in=[PublishStatus.FAILED,
                                                                                               PublishStatus.INTERRUPTED])}[action])
            else:
                action, path, data = random.choice([("refresh", "/erp/refresh/", {}), ("sync job costs", "/erp/job-costs/{}/sync/", {})])
                target = 0 if action == "refresh" else pick(Project.objects.filter(erp_jobs__status=StagedJobStatus.SYNCED))
            if target is None:
                continue
            outcome, reason = client.post(path.format(target), **data)
            with lock:
                tally[(action, outcome)] += 1
                if reason:
                    reasons[reason[:90]] += 1
    finally:
        connections.close_all()


def chaos_loop(workers: list, deadline: float, every: float, kills: list) -> None:
    rng = random.Random(3)
    while time.monotonic() < deadline:
        time.sleep(every * rng.uniform(0.5, 1.5))
        victim = rng.randrange(len(workers))
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        workers[victim] = worker()
        kills.append(time.monotonic())


def settle(company, limit: float) -> None:
    """After the load: interrupt what died, retry interrupted publishes, and let the queue drain."""
    from erpsync.erp.tasks import job_costs_sync_all

    job_costs_sync_all.call()  # the next scheduled job-cost sync, which redoes the interrupted ones
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        sync_runs_reap()
        for job in StagedJob.objects.filter(company=company, publish_status__in=[PublishStatus.FAILED, PublishStatus.INTERRUPTED]):
            procore_publish_enqueue(job=job)
        busy = (SyncRun.objects.filter(outcome__in=["queued", "running"]).exists()
                or StagedJob.objects.filter(publish_status=PublishStatus.PUBLISHING).exists())
        if not busy:
            return
        time.sleep(1)


def differences(fake: FakeProcore) -> list[str]:
    """Projects whose registry content and fake-Procore content differ."""
    found = []
    for job in StagedJob.objects.filter(status=StagedJobStatus.SYNCED, controlling_code="").select_related("project", "connection"):
        project = job.project
        remote = next((p for p in fake.projects.values() if p.get("origin_id") == job_origin_id(job)), None)
        if remote is None or (remote["project_number"], remote["name"]) != (project.project_number, project.name):
            found.append(f"{project.project_number}: project")
            continue
        codes = set(CostCode.objects.filter(project=project).values_list("procore_id", flat=True))
        if codes != {c["id"] for c in fake.cost_codes.get(remote["id"], {}).values()}:
            found.append(f"{project.project_number}: cost codes")
        local = {(c.budget_line.cost_code.procore_id, c.budget_line.cost_type.procore_id): c.job_to_date_cost
                 for c in JobCost.objects.filter(budget_line__project=project)
                 .select_related("budget_line__cost_code", "budget_line__cost_type")}
        remote_costs = {key: Decimal(figures["job_to_date_cost"]) for key, figures in fake.job_costs.get(job_origin_id(job), {}).items()}
        if local != remote_costs:
            found.append(f"{project.project_number}: job costs")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120, help="how long the load and the chaos last")
    parser.add_argument("--clients", type=int, default=6, help="signed-in users acting at once (half project managers)")
    parser.add_argument("--kill-every", type=float, default=3, help="seconds between worker kills, on average")
    parser.add_argument("--jobs", type=int, default=40)
    args = parser.parse_args()

    company, connection = set_up(args.jobs)
    with FakeProcore() as fake:
        fake.server.handle_error = lambda request, address: None  # workers killed mid-request are the point here
        values = fake.connection_settings()
        admin = company.memberships.get(user__username="admin").user
        procore_connection_save(company=company, user=admin, environment="custom", base_url=values["base_url"],
                                login_url=values["login_url"], procore_company_id=values["company_id"],
                                client_id=values["client_id"], client_secret=values["client_secret"])
        fake.faults.latency = 0.02
        port = 18_000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        log = open(WORK / "web.log", "w")  # refusals (403s) are logged there, not on this console
        web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "erpsync.wsgi", "--bind", f"127.0.0.1:{port}",
                                "--workers", "2", "--log-level", "error"], cwd=ROOT, stdout=log, stderr=log)
        workers = [worker() for _ in range(3)]
        scheduler = manage("crontask")
        for _ in range(200):  # gunicorn takes a moment to listen
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        tally, reasons, lock, kills = Counter(), Counter(), threading.Lock(), []
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client_loop, args=(base, "pm" if n % 2 == 0 else "accountant", deadline, tally, reasons, lock))
                   for n in range(args.clients)]
        threads.append(threading.Thread(target=chaos_loop, args=(workers, deadline, args.kill_every, kills)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        load_seconds = time.monotonic() - started
        settle(company, limit=180)
        for process in (web, scheduler, *workers):
            process.terminate()
        for process in (web, scheduler, *workers):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        differ = differences(fake)

    outcomes = Counter()
    for (_, outcome), n in tally.items():
        outcomes[outcome] += n
    interrupted = list(SyncRun.objects.filter(outcome="interrupted"))
    open_ended = Counter(run.kind for run in interrupted if not SyncRun.objects.filter(
        kind=run.kind, connection=run.connection, project=run.project, outcome="succeeded", created_at__gt=run.created_at).exists())
    completed = len(interrupted) - sum(open_ended.values())
    duplicates = Project.objects.values("company", "project_number").annotate(n=Count("pk")).filter(n__gt=1).count()
    left = SyncRun.objects.filter(outcome__in=["queued", "running"]).count()
    print(f"load: {load_seconds:.0f} s, {args.clients} clients, {len(kills)} workers killed; "
          f"{Project.objects.count()} projects, {SyncRun.objects.count()} runs")
    print(f"actions: {sum(outcomes.values())} attempted, {outcomes['succeeded']} succeeded, "
          f"{outcomes['refused']} refused with a reason, {outcomes['failed']} failed")
    for (action, outcome), n in sorted(tally.items()):
        print(f"  {action}: {outcome} {n}")
    for reason, n in reasons.most_common(6):
        print(f"  refused {n}×: {reason}")
    print(f"runs: {len(interrupted)} interrupted ({', '.join(f'{n} {kind}' for kind, n in Counter(r.kind for r in interrupted).items())}), "
          f"of which {completed} then completed{'; not: ' + str(dict(open_ended)) if open_ended else ''}")
    print(f"duplicate projects: {duplicates} (must be 0)")
    print(f"projects whose registry and fake Procore differ: {len(differ)} (must be 0){': ' + ', '.join(differ[:5]) if differ else ''}")
    print(f"runs left running: {left} (must be 0)")
    connections.close_all()
    if not os.environ.get("SOAK_KEEP"):
        subprocess.run(["dropdb", *PG, "--if-exists", DATABASE], check=False)


if __name__ == "__main__":
    main()
