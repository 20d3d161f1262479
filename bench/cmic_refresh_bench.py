"""CMiC refresh benchmark: the fake CMiC serves 20,000 jobs with 200,000 phases.

Prints, in one run: the requests erpsync made and the minimum the page size allows, erpsync's
refresh time, the time of a bare httpx paging loop over the same server, their ratio (bar: at
most 1.5), and the peak memory of a process refreshing 1,000 jobs and one refreshing 20,000
(bar: within 100 MB of each other), with the peak of the helper process a large refresh
starts. The refresh and the bare loop take turns three times and the median ratio counts: the
speed of this shared machine drifts by several percent within a minute. The fake runs in a
process of its own, so its memory and CPU are not counted as erpsync's.

    .venv/bin/python bench/cmic_refresh_bench.py [--jobs 20000] [--runs 3]
"""

import argparse
import multiprocessing
import resource
import threading
import time
from pathlib import Path

from benchsetup import django_for_benchmarks  # noqa: E402

WORK = django_for_benchmarks("erpsync-cmic-bench-")

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from erpsync.connectors.cmic.fake_server import ENVIRONMENT, FakeCmic  # noqa: E402
from erpsync.connectors.cmic.mapping import RESOURCES  # noqa: E402
from erpsync.demo import generator  # noqa: E402

PAGE = 1000
ENTITIES = ["cost_types", "jobs", "cost_codes", "budget_lines"]


def dataset(jobs: int) -> Path:
    folder = WORK / f"export-{jobs}"
    generator.generate(folder, generator.Plan(
        seed=11, control_jobs=jobs, sub_jobs=0, sections_per_job=(8, 8), large_job_phases=0,
        categories_per_phase=(1, 1), transactions_per_line=(0, 0), problem_jobs=False,
    ))
    return folder


def serve(folder: Path, ready) -> None:
    fake = FakeCmic(folder)
    ready.put((fake.base_url, fake.connection_settings(page_size=PAGE),
               {e: len(fake.items[RESOURCES[e].name]) for e in ENTITIES}, (fake.user, fake.password)))
    fake.serve_forever()


class HelperMemory:
    """The high-water mark of the processes this one starts, read from /proc while they run.

    (getrusage would count the memory a helper shared with this process before it exec'd.)
    """

    def __init__(self):
        self.peak_kb = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.done.wait(0.02):
            for children in Path("/proc/self/task").glob("*/children"):
                for pid in children.read_text().split():
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    if "VmHWM:" in status:
                        self.peak_kb = max(self.peak_kb, int(status.split("VmHWM:")[1].split()[0]))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak_kb / 1024


def refresh(settings: dict, slug: str, out) -> None:
    """In a fresh process: refresh once, report time and the process's peak memory."""
    from erpsync.companies.models import Company
    from django.db.models import Sum

    from erpsync.erp.models import ErpConnection, StagedJob
    from erpsync.erp.services import erp_refresh

    connections.close_all()
    company = Company.objects.create(name=slug, slug=slug)
    settings = dict(settings)
    password = settings.pop("password")
    connection = ErpConnection(company=company, name="CMiC", kind="cmic", settings=settings)
    connection.set_secrets({"password": password})
    connection.save()
    stages = {}  # progress label → seconds spent until the next label

    def progress(done, total, label, last=[None, 0.0]):
        now = time.perf_counter()
        if last[0] is not None:
            stages[last[0]] = stages.get(last[0], 0.0) + now - last[1]
        last[:] = [label, now]

    helper_memory = HelperMemory()
    started = time.perf_counter()
    erp_refresh(connection=connection, full=True, progress=progress)
    elapsed = time.perf_counter() - started
    helpers = helper_memory.stop()
    progress(0, 0, None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((elapsed, peak, helpers, stages, StagedJob.objects.filter(company=company).aggregate(n=Sum("cost_code_count"))["n"]))


def in_process(target, *args):
    out = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(*args, out))
    process.start()
    result = out.get()
    process.join()
    return result


def bare_loop(base_url: str, auth: tuple) -> float:
    started = time.perf_counter()
    with httpx.Client(auth=auth, headers={"Accept": "application/json"}) as client:
        for entity in ENTITIES:
            offset = 0
            while True:
                body = client.get(f"{base_url}/{ENVIRONMENT}/{RESOURCES[entity].path}", params={"limit": PAGE, "offset": offset}).json()
                offset += len(body["items"])
                if not body["hasMore"]:
                    break
    return time.perf_counter() - started


def stats(base_url: str) -> dict:
    return httpx.get(f"{base_url}/_fake/stats").json()


def start_fake(folder: Path):
    ready = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(folder, ready), daemon=True)
    process.start()
    return process, ready.get()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="refreshes, each followed by a bare loop (the median ratio counts)")
    args = parser.parse_args()
    jobs = args.jobs
    call_command("migrate", verbosity=0)
    connections.close_all()

    small, (_, small_settings, _, _) = start_fake(dataset(1000))
    _, small_peak, _, _, _ = in_process(refresh, small_settings, "small")
    small.terminate()

    fake, (base_url, settings, rows, auth) = start_fake(dataset(jobs))
    runs = []  # (refresh s, bare s, requests, peak MB, helper peak MB, stages, phases staged), refresh and bare loop in turn
    for run in range(args.runs):
        before = sum(stats(base_url)["requests"].values())
        elapsed, peak, helpers, stages, staged = in_process(refresh, settings, f"large-{run}")
        requests = sum(stats(base_url)["requests"].values()) - before
        runs.append((elapsed, bare_loop(base_url, auth), requests, peak, helpers, stages, staged))
    fake.terminate()

    minimum = sum(max(1, -(-n // PAGE)) for n in rows.values())
    print(f"served: {rows['jobs']} jobs, {rows['cost_codes']} phases, {rows['budget_lines']} job categories, {rows['cost_types']} categories")
    print(f"requests per refresh: {', '.join(str(r[2]) for r in runs)} (minimum for pages of {PAGE}: {minimum}); "
          f"phases staged: {runs[-1][6]}")
    for elapsed, bare, _, _, _, stages, _ in runs:
        print(f"erpsync refresh: {elapsed:.2f} s; bare httpx paging loop: {bare:.2f} s; ratio {elapsed / bare:.2f} — "
              + "; ".join(f"{label.lower()} {seconds:.2f} s" for label, seconds in stages.items() if label))
    ratios = sorted(elapsed / bare for elapsed, bare, *_ in runs)
    print(f"ratio, median of {len(runs)} runs: {ratios[len(ratios) // 2]:.2f} (bar: at most 1.5)")
    peak, helpers = max(r[3] for r in runs), max(r[4] for r in runs)
    print(f"peak memory: {small_peak:.0f} MB refreshing 1,000 jobs, {peak:.0f} MB refreshing {rows['jobs']:,}; "
          f"difference {peak - small_peak:.0f} MB (bar: within 100 MB); the large refresh's helper processes peaked at "
          f"{helpers:.0f} MB each at most")


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
