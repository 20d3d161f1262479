"""What the fake ERP and Procore servers share: an HTTP server on 127.0.0.1 in a thread of its own."""

import threading
from http.server import ThreadingHTTPServer


class LocalHttpServer:
    """A context manager serving `handler` on a free port of 127.0.0.1 until the block ends."""

    def _serve(self, handler) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def serve_forever(self) -> None:
        """Serve in this thread until stopped (benchmarks run a fake in a process of its own)."""
        self.server.serve_forever()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"
