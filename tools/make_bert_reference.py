#!/usr/bin/python3
"""Builds a seeded random BERT-style encoder, writes it as a Hugging Face style directory
(config.json, vocab.txt, model.safetensors) and computes reference outputs with PyTorch's own modules.

The reference model is assembled from torch.nn building blocks, not from our code:
  nn.Embedding (word, position, token type) -> nn.LayerNorm -> nn.TransformerEncoderLayer
  (norm_first=False, activation="gelu" (erf), layer_norm_eps=1e-12, batch_first=True), which is exactly a BERT layer,
  then CLS / mean pooling and L2 normalisation.

Run with Debian's interpreter (python3-torch):
  /usr/bin/python3 tools/make_bert_reference.py --size tiny   --out tests/RankEngine.Tests/Fixtures/TinyBert
  /usr/bin/python3 tools/make_bert_reference.py --size minilm --out models/minilm-random --onnx
Outputs in --out:
  config.json, vocab.txt, model.safetensors      the model, BERT naming (embeddings.word_embeddings.weight, ...)
  reference.json + reference.bin                 (with --reference) inputs and float32 hidden states / pooled vectors
  model.onnx                                     (with --onnx) the same weights exported by torch.onnx.export
"""
import argparse
import json
import math
import os
import struct

import torch
from torch import nn

SIZES = {
    # name: (vocab, hidden, layers, heads, ffn, max_positions)
    "tiny": (1024, 64, 2, 4, 256, 64),
    "minilm": (30522, 384, 6, 12, 1536, 512),
}


class ReferenceBert(nn.Module):
    """BERT encoder from torch.nn modules; the weights are loaded from the BERT-named state dict below."""

    def __init__(self, vocab, hidden, layers, heads, ffn, max_pos, type_vocab=2):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_pos, hidden)
        self.token_type = nn.Embedding(type_vocab, hidden)
        self.emb_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.0, activation="gelu",
                                       layer_norm_eps=1e-12, batch_first=True, norm_first=False)
            for _ in range(layers)])

    def forward(self, input_ids, attention_mask=None):
        # input_ids: [B, L]; attention_mask: [B, L] of 1 (token) / 0 (padding), optional.
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0).expand_as(input_ids)
        x = self.word(input_ids) + self.position(positions) + self.token_type(torch.zeros_like(input_ids))
        x = self.emb_norm(x)
        pad = None if attention_mask is None else attention_mask == 0
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=pad)
        return x


def bert_state_dict(gen, vocab, hidden, layers, heads, ffn, max_pos, type_vocab=2):
    """Random weights with BERT's names and shapes (PyTorch [out, in] layout)."""
    def normal(*shape, std=0.05):
        return torch.randn(*shape, generator=gen) * std

    sd = {
        "embeddings.word_embeddings.weight": normal(vocab, hidden, std=0.5),
        "embeddings.position_embeddings.weight": normal(max_pos, hidden, std=0.2),
        "embeddings.token_type_embeddings.weight": normal(type_vocab, hidden, std=0.2),
        "embeddings.LayerNorm.weight": 1 + normal(hidden, std=0.1),
        "embeddings.LayerNorm.bias": normal(hidden, std=0.1),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        # Larger-than-BERT init so attention is not uniform and GELU sees both signs: a stricter test.
        for name in ("query", "key", "value"):
            sd[p + f"attention.self.{name}.weight"] = normal(hidden, hidden, std=1.0 / math.sqrt(hidden) * 1.5)
            sd[p + f"attention.self.{name}.bias"] = normal(hidden, std=0.1)
        sd[p + "attention.output.dense.weight"] = normal(hidden, hidden, std=1.0 / math.sqrt(hidden))
        sd[p + "attention.output.dense.bias"] = normal(hidden, std=0.1)
        sd[p + "attention.output.LayerNorm.weight"] = 1 + normal(hidden, std=0.1)
        sd[p + "attention.output.LayerNorm.bias"] = normal(hidden, std=0.1)
        sd[p + "intermediate.dense.weight"] = normal(ffn, hidden, std=1.0 / math.sqrt(hidden))
        sd[p + "intermediate.dense.bias"] = normal(ffn, std=0.1)
        sd[p + "output.dense.weight"] = normal(hidden, ffn, std=1.0 / math.sqrt(ffn))
        sd[p + "output.dense.bias"] = normal(hidden, std=0.1)
        sd[p + "output.LayerNorm.weight"] = 1 + normal(hidden, std=0.1)
        sd[p + "output.LayerNorm.bias"] = normal(hidden, std=0.1)
    return sd


def load_into(model, sd, layers):
    """Maps BERT names onto the torch.nn modules (q, k, v concatenated into in_proj as nn.MultiheadAttention wants)."""
    with torch.no_grad():
        model.word.weight.copy_(sd["embeddings.word_embeddings.weight"])
        model.position.weight.copy_(sd["embeddings.position_embeddings.weight"])
        model.token_type.weight.copy_(sd["embeddings.token_type_embeddings.weight"])
        model.emb_norm.weight.copy_(sd["embeddings.LayerNorm.weight"])
        model.emb_norm.bias.copy_(sd["embeddings.LayerNorm.bias"])
        for i in range(layers):
            p = f"encoder.layer.{i}."
            layer = model.layers[i]
            layer.self_attn.in_proj_weight.copy_(torch.cat([sd[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]))
            layer.self_attn.in_proj_bias.copy_(torch.cat([sd[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]))
            layer.self_attn.out_proj.weight.copy_(sd[p + "attention.output.dense.weight"])
            layer.self_attn.out_proj.bias.copy_(sd[p + "attention.output.dense.bias"])
            layer.norm1.weight.copy_(sd[p + "attention.output.LayerNorm.weight"])
            layer.norm1.bias.copy_(sd[p + "attention.output.LayerNorm.bias"])
            layer.linear1.weight.copy_(sd[p + "intermediate.dense.weight"])
            layer.linear1.bias.copy_(sd[p + "intermediate.dense.bias"])
            layer.linear2.weight.copy_(sd[p + "output.dense.weight"])
            layer.linear2.bias.copy_(sd[p + "output.dense.bias"])
            layer.norm2.weight.copy_(sd[p + "output.LayerNorm.weight"])
            layer.norm2.bias.copy_(sd[p + "output.LayerNorm.bias"])


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (the format is a JSON header + raw little-endian data); no extra package needed."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def tiny_vocab(size):
    """A self-contained WordPiece vocabulary: BERT's special-token ids, characters, ## continuations, common words."""
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    vocab += chars + ["##" + c for c in chars if c.isalnum()]
    words = ("the of and to in is was for on as with by he at from his an were are which this be or has had not but "
             "first one their its new after who they have her she two been other when there all during into school "
             "time may years more most only over city some world would where later up such used many can state about "
             "national out known university united then made film movie story love war man life night day home girl "
             "boy star dark king lost last house return good great big little american world city music dead space "
             "comedy drama action thriller romance horror animation adventure crime fantasy children mystery documentary "
             "toy jumanji heat father bride part ii iii ever after before like what your you me my we our us him them "
             "very much also just than these those each every any no yes so because while through against between").split()
    for w in words:
        if w not in vocab:
            vocab.append(w)
    i = 0
    while len(vocab) < size:
        vocab.append(f"[extra{i}]")
        i += 1
    return vocab[:size]


def reference_inputs(gen, vocab_size, max_pos, count):
    """Token sequences [CLS] ... [SEP] of lengths 1..max_pos (the first is a lone [CLS], the last full length)."""
    lengths = [1, 2, 3, max_pos] + torch.randint(4, max_pos, (count - 4,), generator=gen).tolist()
    seqs = []
    for n in lengths:
        ids = torch.randint(104, vocab_size, (n,), generator=gen).tolist()
        ids[0] = 101
        if n > 1:
            ids[-1] = 102
        seqs.append(ids)
    return seqs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=SIZES, default="tiny")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", type=int, default=0, metavar="N", help="write reference outputs for N sequences")
    ap.add_argument("--vocab", help="vocab.txt to ship with the model (default: a synthetic vocabulary of the model's size)")
    ap.add_argument("--onnx", action="store_true", help="also export model.onnx (input_ids, attention_mask -> last_hidden_state)")
    args = ap.parse_args()

    vocab, hidden, layers, heads, ffn, max_pos = SIZES[args.size]
    os.makedirs(args.out, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed)
    sd = bert_state_dict(gen, vocab, hidden, layers, heads, ffn, max_pos)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ffn,
        "max_position_embeddings": max_pos, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if args.vocab:
        with open(args.vocab, encoding="utf-8") as f:
            words = f.read().splitlines()
        if len(words) != vocab:
            raise SystemExit(f"{args.vocab} has {len(words)} entries, the {args.size} model needs {vocab}")
    else:
        words = tiny_vocab(vocab)
    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(words) + "\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), sd,
                      {"format": "pt", "generator": "tools/make_bert_reference.py", "seed": str(args.seed), "size": args.size})

    model = ReferenceBert(vocab, hidden, layers, heads, ffn, max_pos).eval()
    load_into(model, sd, layers)

    if args.reference:
        seqs = reference_inputs(gen, vocab, max_pos, args.reference)
        hidden_rows, cls, mean = [], [], []
        with torch.no_grad():
            for ids in seqs:  # one sequence at a time: no padding can leak into the reference
                h = model(torch.tensor([ids]))[0]
                hidden_rows.append(h)
                cls.append(h[0])
                mean.append(h.mean(dim=0))
        hidden_all = torch.cat(hidden_rows)
        cls = torch.stack(cls)
        mean = torch.stack(mean)
        blob = b""
        index = {}
        for name, t in (("hidden", hidden_all), ("cls", cls), ("mean", mean),
                        ("cls_normalized", nn.functional.normalize(cls, dim=-1)),
                        ("mean_normalized", nn.functional.normalize(mean, dim=-1))):
            data = t.contiguous().numpy().astype("<f4").tobytes()
            index[name] = {"offset": len(blob), "shape": list(t.shape)}
            blob += data
        with open(os.path.join(args.out, "reference.bin"), "wb") as f:
            f.write(blob)
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump({"torch": torch.__version__, "sequences": seqs, "tensors": index}, f)

    if args.onnx:
        dummy = torch.randint(104, vocab, (2, 16), generator=gen)
        torch.onnx.export(model, (dummy, torch.ones_like(dummy)), os.path.join(args.out, "model.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "last_hidden_state": {0: "batch", 1: "seq"}},
                          opset_version=14)
    print(f"wrote {args.size} model to {args.out}")


if __name__ == "__main__":
    main()
