"""Is the LLM endpoint there? Asked once before a session does real work.

An unreachable endpoint would otherwise fail every call of a run one by one
(each after its retries) and end with a misleading verdict far from the cause.
`check_endpoint(client)` asks once and raises `EndpointUnreachable` with the
message of `tools.llm.errors.explain` (what failed, the URL, what to set):

- a configured endpoint: GET /models, and if that route fails other than by
  no connection or a refused key, a one-token chat call; the openai client's
  own bounded retries apply to 429 and 5xx. Only answers that mean every call
  would fail stop the session (no connection, timeout, 401, and from the chat
  call 403, 404 for the model, 429/5xx after retries); a 400 means the server
  is there and is let through.
- no endpoint: starting the embedded server is the probe (`ensure_running`
  is idempotent, so the session's first call finds it up).

`failed_calls_note(store, session_id)` says when every call of a session failed,
so a run that ended on that says so instead of blaming the data.
"""

from __future__ import annotations

from tools.llm.errors import LLMError, explain
from tools.redact import redact


class EndpointUnreachable(LLMError):
    """The endpoint cannot serve this session; the message says what to set."""


def _openai_client(settings, base_url: str):
    import httpx
    import openai

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    # A dead host must not cost llm_timeout per retry just to connect.
    timeout = httpx.Timeout(settings.llm_timeout, connect=min(10.0, settings.llm_timeout))
    return openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout,
                         max_retries=settings.llm_max_retries)


def _fatal(exc: Exception, *, chat: bool) -> bool:
    """Whether this answer means every real call would fail too."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.AuthenticationError)):
        return True  # connection errors include timeouts
    # /models may be closed to a key, absent or broken where chat works: only chat decides these
    return chat and isinstance(exc, (openai.PermissionDeniedError, openai.NotFoundError,
                                     openai.RateLimitError, openai.InternalServerError))


def check_endpoint(client) -> None:
    """Raise EndpointUnreachable unless the client's endpoint can answer (see module doc)."""
    from tools.llm.embedded import EmbeddedError

    try:
        ep = client.endpoint  # with no endpoint set, this starts (or finds) the embedded server
    except EmbeddedError as e:
        raise EndpointUnreachable(str(e)) from None
    if ep.embedded or ep.base_url.startswith("injected://"):
        return
    settings = client.settings
    oc = _openai_client(settings, ep.base_url)
    try:
        try:
            oc.models.list()
            return
        except Exception as e:  # noqa: BLE001 - sorted by _fatal; the rest falls through to chat
            if _fatal(e, chat=False):
                raise
        oc.chat.completions.create(model=ep.model, max_tokens=1,
                                   messages=[{"role": "user", "content": "Say OK."}])
    except Exception as e:  # noqa: BLE001 - one clear message for every kind of failure
        if _fatal(e, chat=True):
            raise EndpointUnreachable(redact(explain(e, ep.base_url, ep.model), settings.secrets())) from None
    finally:
        oc.close()


def failed_calls_note(store, session_id: str) -> str | None:
    """'Every call to the teacher failed (n of n): <first error>', when that is what happened."""
    if store is None:
        return None
    rows = store.query(
        "SELECT count(*) AS n, count(error) AS failed, arg_min(error, created_at) FILTER "
        "(WHERE error IS NOT NULL) AS first FROM llm_calls WHERE session_id = ? "
        "AND NOT coalesce(cache_hit, false)", [session_id])
    n, failed, first = rows[0]["n"], rows[0]["failed"], rows[0]["first"]
    if not n or failed < n:
        return None
    return f"Every call to the teacher failed ({failed} of {n}): {first}"
