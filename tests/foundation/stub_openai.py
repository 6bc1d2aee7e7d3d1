"""A tiny OpenAI-compatible stub server (stdlib only) for provider tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Stub:
    """Serves /v1/chat/completions; ``script`` is a list of status codes to return in turn (200 = answer)."""

    def __init__(self, script: list[int] | None = None, text: str = "The answer is B.",
                 raw: bytes | None = None) -> None:
        self.script = list(script or [])
        self.raw = raw  # when set, sent as the body of every 200 reply (to test malformed replies)
        self.text = text
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.calls += 1
                stub.requests.append(body)
                status = stub.script.pop(0) if stub.script else 200
                if status != 200:
                    payload = {"error": {"message": f"stub status {status}", "type": "x"}}
                else:
                    lp = None
                    if body.get("logprobs"):
                        lp = {"content": [{"token": "B", "logprob": -0.1, "bytes": None,
                                           "top_logprobs": [{"token": "B", "logprob": -0.1, "bytes": None},
                                                            {"token": "A", "logprob": -2.5, "bytes": None}]}]}
                    payload = {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                               "choices": [{"index": 0, "finish_reason": "stop", "logprobs": lp,
                                            "message": {"role": "assistant", "content": stub.text}}],
                               "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}}
                data = stub.raw if status == 200 and stub.raw is not None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
