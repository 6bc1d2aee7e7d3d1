"""A local OpenAI-compatible stub grader for benchmarks (127.0.0.1 only).

Answers every chat completion with a deterministic HealthBench-style JSON verdict
(met / not met from a hash of the prompt), reports word counts as token usage,
and stops by itself after ``--max-requests`` requests or ``--max-seconds`` seconds.

    python benchmarks/rubric/stub_grader.py --port 8765 --max-requests 5000 --max-seconds 300
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from typing import Any

from fastapi import FastAPI, Request


def build_app(max_requests: int, stop: threading.Event) -> Any:
    app = FastAPI()
    state = {"n": 0}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict[str, Any]:
        body = await request.json()
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        state["n"] += 1
        if state["n"] >= max_requests:
            stop.set()
        met = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % 2 == 0
        text = "```json\n" + json.dumps({"explanation": "stub verdict", "criteria_met": met}) + "\n```"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()),
                 "total_tokens": len(prompt.split()) + len(text.split())}
        return {"id": f"stub-{state['n']}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "stub"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": usage}

    return app


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--max-requests", type=int, default=10000)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    stop = threading.Event()
    server = uvicorn.Server(uvicorn.Config(build_app(args.max_requests, stop), host="127.0.0.1", port=args.port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop.wait(args.max_seconds)
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
