#!/usr/bin/python3
"""Float32 NumPy re-implementation of docs/use-lite.md, compared with the JS reference vectors.

Checks that the written description of USE-lite (tokens -> 2*E + timing signal -> 2 pre-norm layers with a projected
residual in layer 0 -> masked mean -> tanh dense -> L2) reproduces tests/RankEngine.Tests/Fixtures/UseLite/
embeddings.json. Needs Debian's python3-numpy: run with /usr/bin/python3.
Usage: /usr/bin/python3 tools/use-lite-numpy-check.py [model-dir] [embeddings.json]
"""
import base64, json, os, sys
import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "use-lite")
fixture = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "tests", "RankEngine.Tests", "Fixtures", "UseLite", "embeddings.json")

manifest = json.load(open(os.path.join(model_dir, "model.json")))["weightsManifest"]
W = {}
for group in manifest:
    buf = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
    off = 0
    for w in group["weights"]:
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        W[w["name"]] = np.frombuffer(buf, dtype={"float32": np.float32, "int32": np.int32}[w["dtype"]], count=n, offset=off).reshape(w["shape"])
        off += 4 * n

A = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
M = "module/Encoder_en/KonaTransformer/Encode/"
EPS = np.float32(1e-6)


def layer_norm(x, layer, sub):
    base = A + f"Layer_{layer}/TransformerLayer/{sub}layer_prepostprocess/layer_norm/layer_norm_"
    mu = x.mean(-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(-1, keepdims=True)
    return W[base + "scale/ConcatPartitions/concat"] / np.sqrt(var + EPS) * d + W[base + "bias/ConcatPartitions/concat"]


def layer(x, i, heads=4):
    L = x.shape[0]
    mha = f"Layer_{i}/TransformerLayer/MultiheadAttention/"
    h = layer_norm(x, i, "")
    qkv = h @ W[M + mha + "qkv_transform_single/kernel/part_0"][0, 0] + W[A + mha + "qkv_transform_single/bias/ConcatPartitions/concat"]
    d = qkv.shape[1] // 3
    hd = d // heads
    q, k, v = (qkv[:, j * d:(j + 1) * d].reshape(L, heads, hd).transpose(1, 0, 2) for j in range(3))
    s = (q * np.float32(1 / np.sqrt(hd))) @ k.transpose(0, 2, 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = (p @ v).transpose(1, 0, 2).reshape(L, d)
    o = o @ W[M + mha + "output_transform_single/kernel/part_0"][0, 0] + W[A + mha + "output_transform_single/bias/ConcatPartitions/concat"]
    if i == 0:  # AdjustResidualInput: dense 256 -> 512
        residual = x @ W[A + "Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat"] + W[A + "Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat"]
    else:
        residual = x
    x = o + residual
    h = layer_norm(x, i, "FFN/")
    f = np.maximum(h @ W[A + f"TransformerStack/Layer_{i}/TransformerLayer/FFN/conv1/Tensordot/Reshape_1"] + W[A + f"Layer_{i}/TransformerLayer/FFN/conv1/bias/ConcatPartitions/concat"], 0)
    f = f @ W[A + f"TransformerStack/Layer_{i}/TransformerLayer/FFN/conv2/Tensordot/Reshape_1"] + W[A + f"Layer_{i}/TransformerLayer/FFN/conv2/bias/ConcatPartitions/concat"]
    return x + f


inv = W[A + "TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1"][0]
E = W["module/Embeddings_en"]


def embed(ids):
    ids = np.asarray(ids[:128], dtype=np.int64)  # ClipToMaxLength
    if len(ids) == 0:
        pooled = np.zeros(512, np.float32)
    else:
        angle = np.arange(len(ids), dtype=np.float32)[:, None] * inv[None, :]
        x = E[ids] + (E[ids] + np.concatenate([np.sin(angle), np.cos(angle)], 1))
        x = layer(layer(x, 0), 1)
        pooled = x.sum(0) / np.float32(len(ids))
    y = np.tanh(pooled @ W["module/Encoder_en/hidden_layers/tanh_layer_0/weights"] + W["module/Encoder_en/hidden_layers/tanh_layer_0/bias"])
    return y / np.sqrt(max(float((y * y).sum()), 1e-12))


worst_cos, worst_abs = 1.0, 0.0
for case in json.load(open(fixture))["cases"]:
    ref = np.frombuffer(base64.b64decode(case["vector"]), dtype="<f4")
    ours = embed(case["ids"])
    worst_cos = min(worst_cos, float(ours @ ref))
    worst_abs = max(worst_abs, float(np.abs(ours - ref).max()))
print(f"use-lite-numpy-check: worst cosine {worst_cos:.7f}, worst max|diff| {worst_abs:.2e}")
sys.exit(0 if worst_abs < 1e-5 else 1)
