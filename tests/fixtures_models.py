"""Tiny random models built from configs, for fast trainer/evaluator/export tests.

Each builder writes a complete transformers folder (config, safetensors,
tokenizer) to a directory and returns it. No downloads; a few hundred ms each.
"""

from __future__ import annotations

from pathlib import Path

WORDS = ["what", "who", "where", "when", "how", "many", "city", "country", "person", "year", "name", "river", "capital", "born", "money", "cost", "price", "big", "small", "good", "bad", "great", "awful", "love", "hate", "movie", "film", "spam", "free", "win", "prize", "call", "now", "hello", "friend", "lunch", "meeting", "tomorrow", "the", "a", "is", "of", "in", "to", "was", "and"]


def tiny_bert(folder: Path, hidden: int = 32) -> Path:
    """A 2-layer random BERT with a WordPiece vocab of test words."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS)),
             *"abcdefghijklmnopqrstuvwxyz0123456789?.,!'", *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz")]
    wp = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok = PreTrainedTokenizerFast(tokenizer_object=wp, pad_token="[PAD]", unk_token="[UNK]",
                                  cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=hidden * 2, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_llama(folder: Path, hidden: int = 64, chat_template: bool = True) -> Path:
    """A 2-layer random Llama with a byte-level BPE tokenizer trained on the fly."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [" ".join(WORDS)] * 20 + ["system user assistant Input Output 0123456789 += ()[]"] * 20
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>",
                                  eos_token="<|im_end|>", unk_token=None)
    if chat_template:
        tok.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
                             "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}"
                             "<|im_start|>assistant\n{% endif %}")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def cls_rows(n: int = 60) -> list[dict]:
    """A learnable two-label task: questions about places vs people."""
    a = ["where is the capital city", "what river is in the country", "where was the city"]
    b = ["who was born in the year", "who is the person", "what name of the person"]
    rows = []
    for i in range(n):
        src, lab = (a, "LOC") if i % 2 == 0 else (b, "HUM")
        rows.append({"input": f"{src[i % 3]} {WORDS[i % 20]}", "output": lab})
    return rows


def text_rows(n: int = 40) -> list[dict]:
    """A learnable text-to-text task: echo the first word."""
    return [{"input": f"{WORDS[i % 30]} {WORDS[(i * 7) % 30]}", "output": WORDS[i % 30]}
            for i in range(n)]


def train_tiny(tmp: Path, method: str, base: Path, rows: list[dict], **kw) -> dict:
    """Train in-process (no subprocess) on tiny data; returns the worker result."""
    from tools.train import TrainConfig, write_rows
    from tools.train.worker import run

    tmp = Path(tmp)
    kind = ("classification" if method in ("encoder_finetune", "frozen_lr", "auto") else
            "extraction" if method == "qa_span" else "generation")
    write_rows(tmp / "train.jsonl", rows)
    opts = dict(epochs=8, batch_size=8, learning_rate=5e-3 if kind == "classification" else 3e-3,
                early_stopping_patience=20, record_to_store=False)
    opts.update(kw)
    cfg = TrainConfig(run_id=f"t-{method}", run_dir=str(tmp / "run"), kind=kind, method=method,
                      base_model=str(base), train_path=str(tmp / "train.jsonl"),
                      instruction="Echo the first word." if kind != "classification" else "", **opts)
    return run(cfg)
