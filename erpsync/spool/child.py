"""Pulling one resource in a process of its own, so a large refresh reads two resources at once.

Reading a large ERP keeps a process busy decoding pages and writing rows, and Python runs that
on one core. A refresh of many jobs therefore reads the job categories in a second process
(`python -m erpsync.spool.child`) while it reads the phases itself. That process needs no
Django: it builds the Source from its recipe (class and settings, secrets included, sent over
a pipe, never written or logged), writes the rows to a spool file of its own, and answers with
("ok", rows), or the ConnectorError's message, which the refresh raises as if it had read
the resource itself. The refresh then uses the file's table in place of its own (Spool.adopt).
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


class ChildPull:
    """One resource being pulled by another process into `path`."""

    def __init__(self, recipe: tuple[str, dict], entity: str, table: str, since: datetime | None, path: Path):
        self.entity, self.table, self.path = entity, table, path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
        self.process = subprocess.Popen([sys.executable, "-m", "erpsync.spool.child"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env)
        self.process.stdin.write(pickle.dumps({"source": recipe, "entity": entity, "table": table, "since": since,
                                               "path": str(path)}))
        self.process.stdin.close()

    def wait(self) -> None:
        """Return once the rows are in the file; raise ConnectorError with the reason if they are not."""
        answer = self.process.stdout.read()
        code = self.process.wait()
        try:
            outcome = pickle.loads(answer)
        except (pickle.UnpicklingError, EOFError, ValueError):
            raise ConnectorError(f"The process reading {self.entity.replace('_', ' ')} stopped without an answer "
                                 f"(exit code {code}); nothing was changed.", permanent=False) from None
        if outcome[0] == "error":
            raise ConnectorError(outcome[1], permanent=outcome[2])
        if outcome[0] != "ok":
            raise RuntimeError(f"reading {self.entity} in a second process failed: {outcome[1]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()


def main() -> None:
    answer = sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries only the answer
    job = pickle.load(sys.stdin.buffer)
    try:
        from erpsync.projects.amounts import budget_rows_fit
        from erpsync.spool import Spool

        module, _, name = job["source"][0].rpartition(".")
        source = getattr(importlib.import_module(module), name)(**job["source"][1])
        batches = staging_batches_of(source, job["entity"], since=job["since"])
        if job["entity"] == "budget_lines":
            batches = map(budget_rows_fit, batches)
        spool = Spool(Path(job["path"]))
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
