"""Read the items out of a teacher's batch reply, keeping what is valid.

A reply asked for k examples may be cut off at the token limit, wrapped in
fences, or hold one bad item among good ones. Whatever parses as an item is
kept; each unusable piece is returned with the reason, so the generator records
it as a rejected row instead of dropping the whole reply.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

_DECODER = json.JSONDecoder()


def _strip_fences(raw: str) -> str:
    s = (raw or "").strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1] if "\n" in s else ""
        s = s.rsplit("```", 1)[0]
    return s.strip()


def _array_items(text: str, key: str) -> tuple[list, str | None]:
    """Items of the JSON array under `key`, decoded one by one (a torn tail is reported)."""
    m = re.search(r'"%s"\s*:\s*\[' % re.escape(key), text)
    if m is None:
        start = text.find("[")
        if start < 0:
            return [], f"no {key!r} list in the reply"
        pos = start + 1
    else:
        pos = m.end()
    items, problem = [], None
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            problem = "the reply was cut off inside the list"
            break
        if text[pos] == "]":
            break
        try:
            item, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError:
            problem = "the reply was cut off inside the list" if "]" not in text[pos:] else \
                f"unreadable item at character {pos}"
            break
        items.append(item)
    return items, problem


def salvage(raw: str, key: str, item_model: type[BaseModel] | None = None
            ) -> tuple[list, list[tuple[str, str]]]:
    """(valid items, [(raw piece, reason)]) from a reply holding {key: [items...]}.

    `item_model` validates object items (pairs); plain strings are returned as is.
    """
    text = _strip_fences(raw)
    try:
        doc = json.loads(text)
        items = doc.get(key) if isinstance(doc, dict) else doc
        problem = None if isinstance(items, list) else f"no {key!r} list in the reply"
        items = items if isinstance(items, list) else []
    except json.JSONDecodeError:
        items, problem = _array_items(text, key)
    good, bad = [], []
    for it in items:
        if item_model is None:
            if isinstance(it, str) and it.strip():
                good.append(it)
            else:
                bad.append((json.dumps(it, ensure_ascii=False)[:500], "item is not a non-empty string"))
            continue
        try:
            good.append(item_model.model_validate(it))
        except ValidationError as e:
            why = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'item'}: {x['msg']}" for x in e.errors()[:3])
            bad.append((json.dumps(it, ensure_ascii=False)[:500], why))
    if problem and not good and not bad:
        bad.append(((raw or "(empty reply)")[:2000], problem))
    elif problem:
        bad.append((text[-300:], problem))
    return good, bad
