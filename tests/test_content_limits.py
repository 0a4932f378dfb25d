"""Reading users' files with bounded memory: encoding detection reads the head only, rows stream."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from tools.hub import content

LINE = "I was charged twice for the subscription this month please help,billing\n"


def big_csv(path, mb: int):
    with path.open("w") as f:
        f.write("text,label\n")
        f.writelines([LINE] * (mb * 2**20 // len(LINE)))
    return path


def peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_encoding_detection_reads_only_the_head(tmp_path):
    p = big_csv(tmp_path / "big.csv", 24)
    assert content._text_encoding(p) == "utf-8-sig"
    assert peak_mb(lambda: content._text_encoding(p)) < 1.0  # not the 24 MB file


def test_rows_of_a_big_csv_come_in_bounded_memory(tmp_path):
    p = big_csv(tmp_path / "big.csv", 24)
    content.read_rows(p, limit=10)  # warm up (pandas import)
    rows = []
    assert peak_mb(lambda: rows.extend(content.read_rows(p, limit=500))) < 6.0
    assert len(rows) == 500 and rows[0] == {"text": LINE.split(",")[0], "label": "billing"}


def test_parquet_is_read_in_batches_up_to_the_limit(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(30_000)], "label": ["a"] * 30_000}),
                   p, row_group_size=1000)
    rows = content.read_rows(p, limit=2500)
    assert len(rows) == 2500 and rows[-1]["text"] == "row 2499"


def test_an_oversized_json_document_is_refused_with_what_to_do(tmp_path, monkeypatch):
    p = tmp_path / "rows.json"
    p.write_text(json.dumps([{"text": "x", "label": "a"}] * 100))
    monkeypatch.setattr(content, "MAX_JSON_BYTES", 100)
    with pytest.raises(ValueError, match="JSONL"):
        content.read_rows(p)
