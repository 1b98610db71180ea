#!/usr/bin/env bash
# Generates the benchmark models (never committed): a MiniLM-sized random BERT as safetensors + ONNX (PyTorch export),
# its ONNX int8 dynamic quantisation (tools/quantize_onnx_dynamic.py) and its RankEngine conversions (fp32, fp16, int8). Needs Debian's python3-torch (installed here if missing) and a Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-onnx libopenblas0-pthread
fi
[ -f models/bert-base-uncased/vocab.txt ] || node tools/fetch-bert-vocab.mjs
/usr/bin/python3 tools/make_bert_reference.py --size minilm --out models/minilm-random --onnx --vocab models/bert-base-uncased/vocab.txt
./rankengine convert --from safetensors models/minilm-random --out models/minilm-random.rem
./rankengine convert --from safetensors models/minilm-random --dtype f16 --out models/minilm-random-f16.rem
./rankengine convert --from safetensors models/minilm-random --dtype i8 --out models/minilm-random-i8.rem
/usr/bin/python3 tools/quantize_onnx_dynamic.py models/minilm-random/model.onnx models/minilm-random/model-int8-dynamic.onnx
