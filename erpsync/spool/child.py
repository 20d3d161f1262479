"""Work a large refresh hands to a second process, so it uses two cores.

Reading a large ERP keeps a process busy decoding pages and writing rows, and Python runs that
on one core. A refresh of many jobs therefore runs two tasks, one after the other, in a second
process (`python -m erpsync.spool.child`, which needs no Django):

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


class ChildPull:
    """A second process pulling one resource into `table` of the spool file at `path`.

    It then waits for more work: `documents` asks it to build the structure documents once the
    refresh's own spool has the phases. Answers come back in the order the tasks were sent.
    """

    def __init__(self, recipe: tuple[str, dict], entity: str, table: str, since: datetime | None, path: Path):
        self.entity, self.table, self.path = entity, table, path
        self.documents_path: Path | None = None
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
        self.process = subprocess.Popen([sys.executable, "-m", "erpsync.spool.child"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env)
        self._asked: list[str] = []  # what each task not yet answered is doing, for messages
        self._send({"task": "pull", "source": recipe, "entity": entity, "table": table, "since": since, "path": str(path)},
                   f"reading {entity.replace('_', ' ')}")

    def documents(self, spool_path: Path, attached: dict[str, str], limits, path: Path) -> None:
        """Build each pulled job's structure documents and cost-code check into a `documents` table at `path`."""
        self.documents_path = path
        self._send({"task": "documents", "spool": str(spool_path), "attached": attached, "limits": limits, "path": str(path)},
                   "checking jobs")

    def _send(self, task: dict, what: str) -> None:
        self._asked.append(what)
        try:
            pickle.dump(task, self.process.stdin)
            self.process.stdin.flush()
        except OSError:
            pass  # the process has gone: wait() says so

    def wait(self):
        """The answer to the oldest task; ConnectorError with the reason if it failed."""
        what = self._asked.pop(0)
        try:
            outcome = pickle.load(self.process.stdout)
        except (pickle.UnpicklingError, EOFError, ValueError):
            raise ConnectorError(f"The process {what} stopped without an answer (exit code {self.process.wait()}); "
                                 "nothing was changed.", permanent=False) from None
        if outcome[0] == "error":
            raise ConnectorError(outcome[1], permanent=outcome[2])
        if outcome[0] != "ok":
            raise RuntimeError(f"{what} in a second process failed: {outcome[1]}")
        return outcome[1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


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


def run(task: dict) -> tuple:
    """("ok", result), ("error", message, permanent) for a ConnectorError, or ("failed", reason)."""
    try:
        from erpsync.projects.amounts import budget_rows_fit
        from erpsync.spool import Spool

        if task["task"] == "documents":
            spool = Spool(Path(task["spool"]), read_only=True, attached=task["attached"])
            try:
                return ("ok", write_documents(spool, task["limits"], Path(task["path"])))
            finally:
                spool.close()
        module, _, name = task["source"][0].rpartition(".")
        source = getattr(importlib.import_module(module), name)(**task["source"][1])
        batches = staging_batches_of(source, task["entity"], since=task["since"])
        if task["entity"] == "budget_lines":
            batches = map(budget_rows_fit, batches)
        spool = Spool(Path(task["path"]), tables=(task["table"],))
        try:
            return ("ok", spool.add(task["table"], batches))  # a key given twice is refused here, as in the refresh
        finally:
            spool.close()
    except ConnectorError as exc:
        return ("error", exc.message, exc.permanent)
    except Exception as exc:  # the refresh fails with it, and its run records the reason
        return ("failed", f"{type(exc).__name__}: {exc}")


def main() -> None:
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries only the answers
    while True:
        try:
            task = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        pickle.dump(run(task), answers)
        answers.flush()


if __name__ == "__main__":
    main()
