"""serve_all is a good parent: stopped, it stops its children; if one of them dies, it says which and stops."""

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from erpsync.testing import manage, until

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def children_of(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def serving():
    port = free_port()
    parent = manage("serve_all", "--addr", f"127.0.0.1:{port}", output=subprocess.PIPE)
    try:
        until(lambda: accepts(port))
        children = until(lambda: len(children_of(parent.pid)) == 3 and children_of(parent.pid))
        yield parent, children, port
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_sigterm_stops_every_child_and_frees_the_port(serving):
    parent, children, port = serving
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 0
    assert not any(alive(pid) for pid in children)
    assert not accepts(port)


def test_when_a_child_dies_it_says_which_and_stops_the_others(serving):
    parent, children, port = serving
    worker = next(pid for pid in children if "db_worker" in Path(f"/proc/{pid}/cmdline").read_text())
    os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer would
    assert parent.wait(timeout=15) == 1
    assert "The task worker stopped (exit status -9); the others were stopped too." in parent.stderr.read()
    assert not any(alive(pid) for pid in children)
    assert not accepts(port)


def test_killed_itself_it_takes_its_children_with_it(serving):
    parent, children, port = serving
    parent.kill()  # SIGKILL: no chance to stop anything itself
    parent.wait()
    until(lambda: not any(alive(pid) for pid in children), seconds=15)
    until(lambda: not accepts(port), seconds=15)
