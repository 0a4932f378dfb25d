"""Errors the LLM layer raises: each says what happened and what to do."""

from __future__ import annotations


class LLMError(RuntimeError):
    """A call to the teacher/chat model failed after bounded retries."""


class StructuredOutputError(LLMError):
    """The model kept replying with output that does not fit the schema."""

    def __init__(self, message: str, attempts: int, last_reply: str | None = None):
        super().__init__(message)
        self.attempts = attempts
        self.last_reply = last_reply


def explain(exc: BaseException, base_url: str, model: str) -> str:
    """Turn an openai/httpx exception into one clear sentence naming the URL."""
    import openai

    where = f"the LLM endpoint at {base_url} (model {model!r})"
    if isinstance(exc, openai.AuthenticationError):
        return f"{where} refused the API key (401). Set OPENAI_API_KEY to a valid key."
    if isinstance(exc, openai.PermissionDeniedError):
        return f"{where} denied access (403). Check the key's permissions for this model."
    if isinstance(exc, openai.NotFoundError):
        return (f"{where} answered 404: the model or route does not exist. "
                "Check P2M_MODEL and that OPENAI_BASE_URL ends with /v1.")
    if isinstance(exc, openai.RateLimitError):
        return f"{where} kept rate-limiting (429) after retries. Lower concurrency or wait."
    if isinstance(exc, openai.APITimeoutError):
        return f"{where} did not answer in time. Raise P2M_LLM_TIMEOUT or check the server."
    if isinstance(exc, openai.APIConnectionError):
        return (f"Cannot reach {where}. Check OPENAI_BASE_URL, or unset it to use the "
                "embedded model.")
    if isinstance(exc, openai.InternalServerError):
        return f"{where} failed with a server error ({getattr(exc, 'status_code', '5xx')}) after retries."
    if isinstance(exc, openai.BadRequestError):
        return f"{where} rejected the request (400): {getattr(exc, 'message', exc)}"
    return f"{where} failed: {type(exc).__name__}: {exc}"
