"""CMiC refresh benchmark: a fake CMiC (in a process of its own) serves 20,000 jobs and 200,000 phases.

Every answer of the fake takes `--latency` longer (default 50 ms), as a real CMiC over a real
network does. erpsync's refresh and a bare sequential httpx loop that pages through the same
resources take turns three times, and the median of their ratios counts (this shared machine's
speed drifts within a minute). The same is measured with no latency, and at 50 ms while two
other processes keep both cores busy. Peak memory is that of a fresh process refreshing 1,000
jobs and one refreshing 20,000. It prints:

    requests per refresh: <n> (minimum <m>)
    latency 50 ms: ratio <r> (median of 3)
    latency 0 ms: ratio <r> (median of 3)
    busy machine, latency 50 ms: ratio <r> (median of 3)
    peak memory: <a> MB at 1,000 jobs, <b> MB at 20,000 jobs

and, before those, every turn with where the refresh spent its time.

    .venv/bin/python bench/cmic_refresh_bench.py [--jobs 20000] [--turns 3] [--latency 0.05]
"""

import argparse
import multiprocessing
import resource
import statistics
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
BUSY_FOR_AT_MOST = 900  # seconds: the processes keeping the cores busy stop by themselves


def dataset(jobs: int) -> Path:
    folder = WORK / f"export-{jobs}"
    generator.generate(folder, generator.Plan(
        seed=11, control_jobs=jobs, sub_jobs=0, sections_per_job=(8, 8), large_job_phases=0,
        categories_per_phase=(1, 1), transactions_per_line=(0, 0), problem_jobs=False,
    ))
    return folder


def serve(folder: Path, latency: float, ready) -> None:
    fake = FakeCmic(folder, latency=latency)
    ready.put((fake.connection_settings(page_size=PAGE), {e: len(fake.items[RESOURCES[e].name]) for e in ENTITIES},
               (fake.user, fake.password)))
    fake.serve_forever()


def start_fake(folder: Path, latency: float):
    ready = multiprocessing.Queue()
    process = multiprocessing.Process(target=serve, args=(folder, latency, ready), daemon=True)
    process.start()
    return process, ready.get()


def refresh(settings: dict, slug: str, out) -> None:
    """In a fresh process: one full refresh; its time, peak memory, stages and requests."""
    from erpsync.companies.models import Company
    from erpsync.erp.models import ErpConnection
    from erpsync.erp.services import erp_refresh

    connections.close_all()
    company = Company.objects.create(name=slug, slug=slug)
    settings = dict(settings)
    password = settings.pop("password")
    connection = ErpConnection(company=company, name="CMiC", kind="cmic", settings=settings)
    connection.set_secrets({"password": password})
    connection.save()
    stages = {}  # the first word of each progress label → seconds until the next

    def progress(done, total, label, last=[None, 0.0]):
        now = time.perf_counter()
        if last[0] is not None:
            stages[last[0]] = stages.get(last[0], 0.0) + now - last[1]
        last[:] = [label.split(":")[0] if label else None, now]

    started = time.perf_counter()
    run = erp_refresh(connection=connection, full=True, progress=progress)
    elapsed = time.perf_counter() - started
    progress(0, 0, None)
    out.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, stages, run.counts))


def in_process(target, *args):
    out = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(*args, out))
    process.start()
    result = out.get()
    process.join()
    return result


def bare_loop(settings: dict, auth: tuple) -> float:
    """Page through every resource in turn, one request at a time, decoding each page."""
    started = time.perf_counter()
    with httpx.Client(auth=auth, headers={"Accept": "application/json"}) as client:
        for entity in ENTITIES:
            offset = 0
            while True:
                body = client.get(f"{settings['base_url']}/{ENVIRONMENT}/{RESOURCES[entity].path}",
                                  params={"limit": PAGE, "offset": offset}).json()
                offset += len(body["items"])
                if not body["hasMore"]:
                    break
    return time.perf_counter() - started


def requests_served(settings: dict) -> int:
    return sum(httpx.get(f"{settings['base_url']}/_fake/stats").json()["requests"].values())


def spin(stop, deadline: float) -> None:
    while not stop.is_set() and time.monotonic() < deadline:
        sum(range(10_000))


def turns(name: str, settings: dict, auth: tuple, count: int, *, busy: bool = False) -> list[tuple]:
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=spin, args=(stop, time.monotonic() + BUSY_FOR_AT_MOST), daemon=True)
                for _ in range(2 if busy else 0)]
    for process in spinners:
        process.start()
    results = []
    try:
        for turn in range(count):
            before = requests_served(settings)
            elapsed, peak, stages, counts = in_process(refresh, settings, f"{name}-{turn}".replace(" ", "-").replace(",", ""))
            requests = requests_served(settings) - before
            bare = bare_loop(settings, auth)
            results.append((elapsed, bare, peak, requests, counts))
            print(f"  {name}, turn {turn + 1}: refresh {elapsed:.2f} s ("
                  + ", ".join(f"{label.lower()} {seconds:.2f} s" for label, seconds in stages.items())
                  + f"); bare loop {bare:.2f} s; ratio {elapsed / bare:.2f}", flush=True)
    finally:
        stop.set()
        for process in spinners:
            process.join()
    return results


def median_ratio(results: list[tuple]) -> float:
    return statistics.median(elapsed / bare for elapsed, bare, *_ in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--turns", type=int, default=3, help="refreshes, each followed by a bare loop (the median ratio counts)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake CMiC adds to every answer")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    connections.close_all()
    ms = f"{args.latency * 1000:.0f} ms"

    small, (small_settings, _, _) = start_fake(dataset(1000), 0.0)
    small_peak = in_process(refresh, small_settings, "small")[1]
    small.terminate()

    large = dataset(args.jobs)
    results = {}
    for latency, label, busy in ((args.latency, f"latency {ms}", False), (0.0, "latency 0 ms", False),
                                 (args.latency, f"busy machine, latency {ms}", True)):
        fake, (settings, rows, auth) = start_fake(large, latency)
        results[label] = turns(label, settings, auth, args.turns, busy=busy)
        fake.terminate()

    minimum = sum(max(1, -(-n // PAGE)) for n in rows.values())
    every = [r for found in results.values() for r in found]
    counts = every[-1][4]
    print(f"served: {rows['jobs']:,} jobs, {rows['cost_codes']:,} phases, {rows['budget_lines']:,} job categories, "
          f"{rows['cost_types']} categories; staged: {counts['jobs']:,} jobs, {counts['cost_codes']:,} cost codes, "
          f"{counts['budget_lines']:,} budget lines")
    requests = sorted({r[3] for r in every})
    print(f"requests per refresh: {', '.join(map(str, requests))} (minimum {minimum})")
    for label, found in results.items():
        print(f"{label}: ratio {median_ratio(found):.2f} (median of {len(found)})")
    print(f"peak memory: {small_peak:.0f} MB at 1,000 jobs, {max(r[2] for r in every):.0f} MB at {args.jobs:,} jobs")


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
