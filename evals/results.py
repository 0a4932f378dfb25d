"""evals/RESULTS.md: each benchmark owns one '## ' section, replaced when it runs again."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def append_results(section_title: str, body: str, path: Path = RESULTS) -> None:
    """Append (or replace) one '## ' section of evals/RESULTS.md."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head = f"## {section_title}"
    if head in text:  # replace our own section, leave the others alone
        start = text.index(head)
        nxt = text.find("\n## ", start + len(head))
        text = text[:start].rstrip() + "\n\n" + (text[nxt + 1:] if nxt >= 0 else "")
    path.write_text(text.rstrip() + "\n\n" + head + "\n\n" + body.strip() + "\n", encoding="utf-8")


def publish(section_title: str, lines: list[str], write: bool = True) -> str:
    """Print a benchmark's report and, unless write is False, store it as its section."""
    body = "\n".join(lines)
    print(body)
    if write:
        append_results(section_title, body)
    return body
