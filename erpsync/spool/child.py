"""Work a large refresh hands to a second process, so it uses two cores.

Reading a large ERP keeps a process busy decoding pages and writing rows, and Python runs that
on one core. A refresh of many jobs therefore runs two tasks in a second process
(`python -m erpsync.spool.child`, which needs no Django):

- pull: read the job categories while the refresh reads the phases. The process builds the
  Source from its recipe (class and settings, secrets included, sent over a pipe, never
  written or logged) and writes the rows to a spool file of its own, which the refresh then
  uses in place of its own table (Spool.adopt). A ConnectorError there is raised by the
  refresh as if it had read the resource itself.
- documents: build each job's structure documents from the spool and check its cost codes
  (erpsync/erp/rules.py), while the refresh stages the jobs themselves.
"""

import importlib
import os
import pickle
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from erpsync.connectors.base import ConnectorError, staging_batches_of

ROOT = Path(__file__).resolve().parents[2]  # where the erpsync package lives


def helpers_can_start() -> bool:
    """Whether this process runs a Python interpreter it can start again (not, say, one embedded in uWSGI)."""
    return Path(sys.executable or "").name.startswith("python")


class Child:
    """A task running in a second process; its result lands in the file at `path`."""

    what = "working"

    def __init__(self, task: dict, path: Path):
        self.path = path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
        self.process = subprocess.Popen([sys.executable, "-m", "erpsync.spool.child"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env)
        self.process.stdin.write(pickle.dumps({**task, "path": str(path)}))
        self.process.stdin.close()

    def wait(self):
        """The task's answer, once its file is written; ConnectorError with the reason if it failed."""
        answer = self.process.stdout.read()
        code = self.process.wait()
        try:
            outcome = pickle.loads(answer)
        except (pickle.UnpicklingError, EOFError, ValueError):
            raise ConnectorError(f"The process {self.what} stopped without an answer (exit code {code}); "
                                 "nothing was changed.", permanent=False) from None
        if outcome[0] == "error":
            raise ConnectorError(outcome[1], permanent=outcome[2])
        if outcome[0] != "ok":
            raise RuntimeError(f"{self.what} in a second process failed: {outcome[1]}")
        return outcome[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


class ChildPull(Child):
    """One resource pulled into `table` of the spool file at `path`."""

    def __init__(self, recipe: tuple[str, dict], entity: str, table: str, since: datetime | None, path: Path):
        self.entity, self.table = entity, table
        self.what = f"reading {entity.replace('_', ' ')}"
        super().__init__({"task": "pull", "source": recipe, "entity": entity, "table": table, "since": since}, path)


class ChildDocuments(Child):
    """Each pulled job's structure documents and cost-code check, into a `documents` table at `path`."""

    what = "checking jobs"

    def __init__(self, spool_path: Path, attached: dict[str, str], limits, path: Path):
        super().__init__({"task": "documents", "spool": str(spool_path), "attached": attached, "limits": limits}, path)


def write_documents(spool, limits, path: Path) -> int:
    """(company, job, phases, job categories, cost-code count, cost-code problems) of each job with rows in the spool."""
    import json
    import sqlite3
    from itertools import batched

    from erpsync.erp.rules import checked_structure

    names = {(c, code): name for c, code, name in spool.rows("SELECT company, code, name FROM cost_types")}
    out = sqlite3.connect(path)
    written = 0
    try:
        out.executescript("""PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE documents (company TEXT, job TEXT, codes TEXT, lines TEXT, count INT, problems TEXT)""")
        with out:
            for batch in batched(spool.structures(), 2000):
                rows = []
                for company, job, codes, lines in batch:
                    count, problems = checked_structure(company, json.loads(codes), json.loads(lines), names, limits)
                    rows.append((company, job, codes, lines, count, json.dumps(problems) if problems else None))
                out.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)", rows)
                written += len(rows)
    finally:
        out.close()
    return written


def main() -> None:
    answer = sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries only the answer
    job = pickle.load(sys.stdin.buffer)
    try:
        from erpsync.projects.amounts import budget_rows_fit
        from erpsync.spool import Spool

        if job["task"] == "documents":
            spool = Spool(Path(job["spool"]), read_only=True, attached=job["attached"])
            try:
                outcome = ("ok", write_documents(spool, job["limits"], Path(job["path"])))
            finally:
                spool.close()
        else:
            module, _, name = job["source"][0].rpartition(".")
            source = getattr(importlib.import_module(module), name)(**job["source"][1])
            batches = staging_batches_of(source, job["entity"], since=job["since"])
            if job["entity"] == "budget_lines":
                batches = map(budget_rows_fit, batches)
            spool = Spool(Path(job["path"]), tables=(job["table"],))
            try:
                outcome = ("ok", spool.add(job["table"], batches))  # a key given twice is refused here, as in the refresh
            finally:
                spool.close()
    except ConnectorError as exc:
        outcome = ("error", exc.message, exc.permanent)
    except Exception as exc:  # the refresh fails with it, and its run records the reason
        outcome = ("failed", f"{type(exc).__name__}: {exc}")
    answer.write(pickle.dumps(outcome))
    answer.flush()


if __name__ == "__main__":
    main()
