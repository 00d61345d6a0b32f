"""A small OpenAI-compatible HTTP server for tests: the real `openai` client talks to it over loopback.

The cloud LLM is the one part that cannot exist here, so it is faked at the HTTP boundary (never inside our
code). A test scripts the next replies and reads back every request the server received, which is how the
tests prove that no personal data left the process.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass
class Reply:
    """One scripted reply: `content` as the assistant message, or an HTTP `status`, or a `delay_s` stall."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0


@dataclass
class FakeOpenAI:
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            reply = self.replies.popleft() if self.replies else Reply(status=500)
            if reply.delay_s:
                time.sleep(reply.delay_s)  # blocks this worker thread like a stalled upstream would
            if reply.status != 200:
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error", "code": None}},
                    status_code=reply.status,
                )
            return JSONResponse(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "fake"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content, "refusal": None},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        return app
