"""A fake chat model for unit tests, keyed by the exact prompt.

`FakeChatModel(responses={prompt: reply})` answers a call whose last user
message is exactly `prompt` (so a test pins the prompt text: change a prompt and
the test fails loudly); `queue=[...]` answers unknown prompts in order. A reply
may be a list (successive calls to the same prompt) or an Exception to raise.
Every call is recorded in `.calls` with its bound options.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr


class UnknownPrompt(KeyError):
    """The fake has no reply for this prompt (shown in full to fix the test)."""


class FakeChatModel(BaseChatModel):
    responses: dict[str, Any] = Field(default_factory=dict)
    queue: list[Any] = Field(default_factory=list)
    model_name: str = "fake-teacher"
    _calls: list = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _seen: dict = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "fake-chat"

    @property
    def calls(self) -> list[dict]:
        return self._calls

    def _next_reply(self, prompt: str) -> Any:
        with self._lock:
            if prompt in self.responses:
                reply = self.responses[prompt]
                if isinstance(reply, list):
                    i = self._seen.get(prompt, 0)
                    self._seen[prompt] = i + 1
                    reply = reply[min(i, len(reply) - 1)]
                return reply
            if self.queue:
                return self.queue.pop(0)
        raise UnknownPrompt(f"FakeChatModel has no reply for prompt:\n{prompt}")

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        prompt = next((m.content for m in reversed(messages) if m.type == "human"), "")
        with self._lock:
            self._calls.append({"messages": [(m.type, m.content) for m in messages],
                                "options": kwargs})
        reply = self._next_reply(prompt)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(messages, kwargs)
        tool_calls = []
        if isinstance(reply, dict):  # a tool call: {"name": ..., "args": {...}}
            tool_calls = [{"name": reply["name"], "args": reply["args"], "id": "call_0"}]
            reply = ""
        words = len(str(reply).split())
        msg = AIMessage(content=str(reply), tool_calls=tool_calls,
                        usage_metadata={"input_tokens": sum(len(str(m.content).split()) for m in messages),
                                        "output_tokens": words, "total_tokens": words})
        return ChatResult(generations=[ChatGeneration(message=msg)])
