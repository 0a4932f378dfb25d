"""LLM access: one client over any OpenAI-compatible endpoint or the embedded model."""

from tools.llm.client import LLMClient
from tools.llm.errors import LLMError, StructuredOutputError
from tools.llm.factory import WEAK_TEACHER_NOTE, teacher_note, weak_teacher
from tools.llm.messages import normalize

__all__ = ["LLMClient", "LLMError", "StructuredOutputError", "WEAK_TEACHER_NOTE", "normalize",
           "teacher_note", "weak_teacher"]
