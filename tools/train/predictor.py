"""Load a trained p2m model folder and predict. Standalone on purpose.

This file is copied verbatim into every export as `predict.py`, and the
evaluator uses it for the student, so the exported model runs through exactly
the code that was measured. It imports only torch, transformers and safetensors.

    python predict.py "What is the capital of France ?"
    python predict.py --file inputs.txt        # one input per line

    from predict import load
    model = load("path/to/folder")
    model.predict(["some text"])               # -> ["LOC"]

The folder's `p2m_model.json` says which of four formats it holds:
sequence-classification (encoder + classification head), embedding-linear
(encoder, mean pooling, L2 norm, then a linear head in head.safetensors),
causal-lm (a small chat LM prompted with the task instruction), question-answering
(encoder + span head: the answer is copied from the input's context; an input is
"Question: ... Context: ..." or "Context: ...\nQuestion: ...").

An encoder export may also carry an ONNX copy (`runtime.onnx` in p2m_model.json:
model.onnx or the int8 model.int8.onnx) that passed the export's accuracy check
and was the fastest; it runs when onnxruntime is installed (pip install
onnxruntime), else the safetensors weights run through torch as before.
P2M_RUNTIME=torch forces the torch path.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # 2-core boxes stall without it
FORMAT_FILE = "p2m_model.json"
FALLBACK_TEMPLATE = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
_QUESTION = re.compile(r"(?i)(?:^|(?<=\s))(?:question|query)\s*:\s*")
_CONTEXT = re.compile(r"(?i)(?:^|(?<=\s))(?:context|passage|paragraph|article|document)\s*:\s*")


def split_question_context(text: str) -> tuple[str, str, int] | None:
    """(question, context, where the context starts in text) of a QA input, or None.

    Both orders are read: "Question: Q Context: C" (Prompt2Model, the suites) and
    "Context: C\nQuestion: Q" (the Hub column mapping). The context keeps its exact
    characters, so an answer's char span in it maps back to the input."""
    q, c = _QUESTION.search(text), _CONTEXT.search(text)
    if not q or not c:
        return None
    if q.start() < c.start():  # question first: the context runs to the end
        question, start, end = text[q.end():c.start()], c.end(), len(text)
    else:  # context first: the last question marker ends it
        q = list(_QUESTION.finditer(text, c.end()))[-1]
        question, start, end = text[q.end():], c.end(), q.start()
    context = text[start:end].rstrip()
    question = question.strip()
    return (question, context, start) if question and context.strip() else None


def qa_windows(tokenizer, questions: list[str], contexts: list[str], max_length: int, stride: int,
               question_tokens: int, padding: bool = False):
    """Question + context windows (the context split with overlap `stride`), with char offsets.

    Questions are cut to `question_tokens` first: a long one would leave no room for context."""
    cut = []
    for q in questions:
        enc = tokenizer(q, add_special_tokens=False, return_offsets_mapping=True)
        cut.append(q if len(enc["input_ids"]) <= question_tokens else q[:enc["offset_mapping"][question_tokens - 1][1]])
    return tokenizer(cut, contexts, truncation="only_second", max_length=max_length, stride=stride,
                     return_overflowing_tokens=True, return_offsets_mapping=True, padding=padding)


def best_span(start_logits, end_logits, offsets, n_best: int = 20, max_answer_tokens: int = 30):
    """(score, start_char, end_char) of the best answer in one window, or None.

    offsets: per token a (start, end) char span in the context, None outside the context.
    The n_best highest starts and ends are paired; an end before its start, a span
    longer than max_answer_tokens, or a token outside the context is skipped."""
    import numpy as np

    start_logits, end_logits = np.asarray(start_logits), np.asarray(end_logits)
    n = min(len(offsets), len(start_logits))
    starts = np.argsort(start_logits[:n])[::-1][:n_best]
    ends = np.argsort(end_logits[:n])[::-1][:n_best]
    best = None
    for s in starts:
        if offsets[s] is None:
            continue
        for e in ends:
            if offsets[e] is None or e < s or e - s + 1 > max_answer_tokens:
                continue
            score = float(start_logits[s] + end_logits[e])
            if best is None or score > best[0]:
                best = (score, offsets[s][0], offsets[e][1])
    return best


def context_offsets(enc, i: int) -> list:
    """Window i's char offsets, None for tokens that are not context (question, specials, pad)."""
    seq = enc.sequence_ids(i)
    return [o if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]


def render_prompt(tokenizer, instruction: str, text: str) -> str:
    """The prompt a causal student sees (chat template when the tokenizer has one)."""
    if getattr(tokenizer, "chat_template", None):
        msgs = [{"role": "system", "content": instruction}, {"role": "user", "content": text}]
        return tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    return FALLBACK_TEMPLATE.format(instruction=instruction, input=text)


def mean_pool(hidden, mask):
    """Mean of token vectors where the attention mask is 1, then L2-normalised."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(v, p=2, dim=1)


class Predictor:
    """A loaded model folder; `predict(texts)` returns one string per input."""

    def __init__(self, folder: str | Path, device: str | None = None, meta: dict | None = None,
                 runtime: str | None = None):
        import torch
        from transformers import AutoTokenizer

        self.folder = Path(folder)
        meta_path = self.folder / FORMAT_FILE
        if meta is None and not meta_path.exists():
            raise FileNotFoundError(f"{self.folder} is not a p2m model folder (no {FORMAT_FILE})")
        self.meta = meta or json.loads(meta_path.read_text())
        self.format = self.meta["format"]
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder)
        self.max_length = int(self.meta.get("max_length", 128))
        self.head = None
        self.labels = self.meta.get("labels") or []
        self.session = self._onnx_session(runtime)
        if self.session is not None:
            self.model = None  # the ONNX graph holds encoder and head
            return
        if self.format == "sequence-classification":
            from transformers import AutoModelForSequenceClassification as Auto
        elif self.format == "embedding-linear":
            from safetensors.torch import load_file
            from transformers import AutoModel as Auto

            self.head = load_file(str(self.folder / "head.safetensors"))
        elif self.format == "question-answering":
            from transformers import AutoModelForQuestionAnswering as Auto
        elif self.format == "causal-lm":
            from transformers import AutoModelForCausalLM as Auto

            self.tokenizer.padding_side = "left"  # generation continues after the prompt
            if self.tokenizer.pad_token is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
        else:
            raise ValueError(f"unknown model format {self.format!r}")
        self.model = Auto.from_pretrained(self.folder).to(self.device).eval()

    @property
    def runtime(self) -> str:
        """'torch' or 'onnx:<file>': what predict() runs."""
        return f"onnx:{self.onnx_file}" if self.session is not None else "torch"

    @property
    def num_parameters(self) -> int:
        if self.model is None:
            return int((self.meta.get("runtime") or {}).get("num_parameters") or 0)
        n = sum(p.numel() for p in self.model.parameters())
        return n + (sum(t.numel() for t in self.head.values()) if self.head else 0)

    def predict(self, texts: list[str], batch_size: int = 32) -> list[str]:
        """Predicted label or generated text for each input."""
        out: list[str] = []
        for i in range(0, len(texts), batch_size):
            out += self._batch([str(t) for t in texts[i:i + batch_size]])
        return out

    def _batch(self, texts: list[str]) -> list[str]:
        import torch

        if self.format == "causal-lm":
            return self._generate(texts)
        if self.format == "question-answering":
            return self._spans(texts)
        if self.session is not None:
            return self._onnx_batch(texts)
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device)
        with torch.inference_mode():
            if self.format == "sequence-classification":
                ids = self.model(**enc).logits.argmax(-1).tolist()
                id2label = self.model.config.id2label
                return [id2label[i] for i in ids]
            emb = mean_pool(self.model(**enc).last_hidden_state, enc["attention_mask"])
            logits = emb @ self.head["weight"].to(emb).T + self.head["bias"].to(emb)
            return [self.labels[i] for i in logits.argmax(-1).tolist()]

    def _generate(self, texts: list[str]) -> list[str]:
        import torch

        new_tokens = int(self.meta.get("max_new_tokens", 64))
        prompts = [self._prompt(t, new_tokens) for t in texts]
        enc = self.tokenizer(prompts, padding=True, return_tensors="pt",
                             add_special_tokens=False).to(self.device)
        stops = list(self.meta.get("stop_strings") or [])
        # EOS as trained (the tokenizer's, appended to every answer) and the model's own
        eos = {self.tokenizer.eos_token_id, *_as_list(self.model.generation_config.eos_token_id)} - {None}
        extra = {"stop_strings": stops, "tokenizer": self.tokenizer} if stops else {}
        with torch.inference_mode():
            gen = self.model.generate(**enc, max_new_tokens=new_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=sorted(eos) or None, **extra)
        new = gen[:, enc["input_ids"].shape[1]:]
        texts = [s.strip() for s in self.tokenizer.batch_decode(new, skip_special_tokens=True)]
        return [_cut(t, stops) for t in texts]

    def _spans(self, texts: list[str]) -> list[str]:
        """The best span of each input's context over all its windows (n-best start x end)."""
        import torch

        parts = [split_question_context(t) or (t, t, 0) for t in texts]  # no markers: search the whole input
        m = self.meta
        enc = qa_windows(self.tokenizer, [p[0] for p in parts], [p[1] for p in parts], self.max_length,
                         int(m.get("stride", 128)), int(m.get("question_tokens", 64)), padding=True)
        feed = {k: torch.tensor(enc[k]).to(self.device) for k in ("input_ids", "attention_mask", "token_type_ids")
                if k in enc}
        with torch.inference_mode():
            out = self.model(**feed)
        best: dict[int, tuple] = {}
        for i, ex in enumerate(enc["overflow_to_sample_mapping"]):
            cand = best_span(out.start_logits[i].float().cpu().numpy(), out.end_logits[i].float().cpu().numpy(),
                             context_offsets(enc, i), max_answer_tokens=int(m.get("max_answer_tokens", 30)))
            if cand and (ex not in best or cand[0] > best[ex][0]):
                best[ex] = cand
        return [parts[j][1][best[j][1]:best[j][2]].strip() if j in best else "" for j in range(len(texts))]

    def _prompt(self, text: str, new_tokens: int) -> str:
        """The chat prompt for one input, its input's tail cut if the whole would not fit the
        model's context (cutting the rendered prompt would drop the assistant turn marker)."""
        instruction = self.meta.get("instruction", "")
        prompt = render_prompt(self.tokenizer, instruction, text)
        limit = min(getattr(self.model.config, "max_position_embeddings", 2048), 4096) - new_tokens
        over = len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"]) - limit
        if over > 0:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            prompt = render_prompt(self.tokenizer, instruction,
                                   self.tokenizer.decode(ids[:max(1, len(ids) - over - 8)]))
        return prompt


    # --- ONNX runtime (encoder formats only; the export checked the copy) -------------------

    def _onnx_session(self, runtime: str | None):
        """An onnxruntime session when the folder's checked ONNX copy should run, else None."""
        runtime = runtime or os.environ.get("P2M_RUNTIME") or ""
        file = runtime[5:] if runtime.startswith("onnx:") else (self.meta.get("runtime") or {}).get("onnx")
        self.onnx_file = file
        if runtime == "torch" or not file or self.format not in ("sequence-classification",
                                                                  "embedding-linear"):
            return None
        if not (self.folder / file).exists() or (self.device != "cpu" and not runtime):
            return None
        try:
            import onnxruntime as ort
        except ImportError:
            return None  # the safetensors weights serve through torch
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                        else (os.cpu_count() or 1))
        return ort.InferenceSession(str(self.folder / file), opts, providers=["CPUExecutionProvider"])

    def _onnx_batch(self, texts: list[str]) -> list[str]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="np")
        feed = {"input_ids": enc["input_ids"].astype("int64"),
                "attention_mask": enc["attention_mask"].astype("int64")}
        logits = self.session.run(["logits"], feed)[0]
        return [self._label(int(i)) for i in logits.argmax(-1)]

    def _label(self, i: int) -> str:
        return self.labels[i]


def load(folder: str | Path | None = None, device: str | None = None) -> Predictor:
    """Load the model folder (default: the folder this file sits in)."""
    return Predictor(folder or Path(__file__).resolve().parent, device=device)


def _as_list(x) -> list:
    return [] if x is None else list(x) if isinstance(x, (list, tuple, set)) else [x]


def _cut(text: str, stops: list[str]) -> str:
    """The text before the first stop string (generation ends on the token holding it)."""
    for s in stops:
        if s in text:
            text = text[: text.index(s)]
    return text.strip()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[2])
        return 0 if argv else 2
    if argv[0] == "--file":
        if len(argv) < 2 or not Path(argv[1]).exists():
            print("usage: predict.py --file INPUTS.txt (one input per line)", file=sys.stderr)
            return 2
        argv = [l for l in Path(argv[1]).read_text(encoding="utf-8").splitlines() if l.strip()]
    model = load()
    for text, pred in zip(argv, model.predict(argv)):
        print(json.dumps({"input": text, "prediction": pred}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
