"""A minimal OpenAI-compatible chat server that answers at once (for overhead benchmarks).

    python benchmarks/foundation/stub_server.py --port 8765 --max-seconds 300

Binds 127.0.0.1 only, answers every chat completion with a fixed short reply and
exits by itself after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

REPLY = json.dumps({
    "id": "stub", "object": "chat.completion", "created": 0, "model": "stub",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "The answer is B."}}],
    "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
}).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]})
    await send({"type": "http.response.body", "body": REPLY})


def main() -> None:
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--max-seconds", type=float, default=300)
    args = ap.parse_args()
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        await asyncio.sleep(args.max_seconds)
        server.should_exit = True
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
