"""An OpenAI-compatible stub run as its own process, so a test can SIGKILL it mid-run.

    python tests/foundation/fleet_stub.py --name a --delay 0.05

Prints ``PORT <n>`` on stdout once it listens on 127.0.0.1. Every chat completion is
answered after ``--delay`` seconds with "The answer is B. [stub NAME]"; ``GET /models``
answers 200 (the fleet's health probe).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="stub")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _send(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send({"object": "list", "data": [{"id": "stub", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            time.sleep(args.delay)
            self._send({"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                        "choices": [{"index": 0, "finish_reason": "stop", "message": {
                            "role": "assistant", "content": f"The answer is B. [stub {args.name}]"}}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}})

    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.timeout = 0.5
    print(f"PORT {httpd.server_address[1]}", flush=True)
    while time.monotonic() - started < args.max_seconds:
        httpd.handle_request()
    sys.exit(0)


if __name__ == "__main__":
    main()
