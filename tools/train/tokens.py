"""Tokenise once, pick max_length from the data, count what gets cut.

Both classification candidates (frozen embeddings and the fine-tune) and the
validation split run over the same token ids, so every text is tokenised once per
run (`TokenCache`). Padding is never stored: batches are padded to their own
longest row (dynamic padding), and with length-grouped batches that is close to
the row lengths themselves.
"""

from __future__ import annotations

MIN_LENGTH = 16  # below this a p95 of very short inputs would cut the rare long one too hard


def p95_length(lengths: list[int], cap: int, floor: int = MIN_LENGTH) -> int:
    """The token length that holds 95% of the rows whole, between floor and cap."""
    if not lengths:
        return min(cap, floor)
    s = sorted(lengths)
    return int(max(min(floor, cap), min(cap, s[int(0.95 * (len(s) - 1))])))


class TokenCache:
    """Token ids of texts, tokenised once without truncation, cut on request.

    The model's own limit (`hard_cap`, e.g. 512 positions) bounds what is stored; one
    token more is kept so that a text longer than the limit is still counted as cut.
    """

    def __init__(self, tokenizer, hard_cap: int = 512):
        self.tok = tokenizer
        self.hard_cap = hard_cap
        self._ids: dict[str, list[int]] = {}

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids (with special tokens) for each text, at most hard_cap + 1 long."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._ids))
        for i in range(0, len(todo), 4096):
            chunk = todo[i:i + 4096]
            enc = self.tok(chunk, truncation=True, max_length=self.hard_cap + 1)["input_ids"]
            self._ids.update(zip(chunk, enc))
        return [self._ids[t] for t in texts]

    def encode(self, texts: list[str], max_length: int) -> list[dict]:
        """Rows of input_ids/attention_mask cut to max_length (last token kept: [SEP]/</s>)."""
        out = []
        max_length = min(max_length, self.hard_cap)
        for ids in self.ids(texts):
            if len(ids) > max_length:
                ids = ids[:max_length - 1] + ids[-1:]
            out.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
        return out

    def lengths(self, texts: list[str]) -> list[int]:
        """Token counts (a text over the model's limit counts as hard_cap + 1)."""
        return [len(x) for x in self.ids(texts)]

    def truncated(self, texts: list[str], max_length: int) -> int:
        """How many of the texts lose tokens at max_length."""
        return sum(n > min(max_length, self.hard_cap) for n in self.lengths(texts))


def model_max_positions(model_config, default: int = 512) -> int:
    """Usable positions of an encoder (RoBERTa-style models reserve two for padding)."""
    n = getattr(model_config, "max_position_embeddings", default) or default
    if getattr(model_config, "model_type", "") in ("roberta", "mpnet", "xlm-roberta"):
        n -= 2
    return int(min(n, 512))
