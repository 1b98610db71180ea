#!/usr/bin/python3
"""Dynamic int8 quantisation of an ONNX model's MatMuls, as onnxruntime.quantization.quantize_dynamic does it
(per_channel=True, weight type QInt8), with the `onnx` package only (no onnxruntime Python package needed).

Usage: /usr/bin/python3 tools/quantize_onnx_dynamic.py IN.onnx OUT.onnx

Every MatMul whose second input B is a constant 2-D float tensor (an initializer, or a Constant node) becomes

    x -> DynamicQuantizeLinear -> (x_q: uint8, x_scale, x_zero_point)
    MatMulInteger(x_q, B_q: int8 [K, N], x_zero_point, B_zero_point: int8 [N] = 0) -> int32
    Cast(to = float)
    Mul(that, Mul(x_scale, B_scale: float [N]))  -> the MatMul's original output

with B quantised per output channel (column n), symmetric: B_scale[n] = max|B[:, n]| / 127 (1 for an all-zero
column), B_q = round-half-even(B / B_scale) clipped to [-127, 127], zero point 0. ONNX Runtime's graph optimiser fuses
the chain into DynamicQuantizeMatMul (MatMulIntegerToFloat + DynamicQuantizeLinear), as it does for quantize_dynamic's
output. MatMuls of two activations (attention's Q·Kᵀ, P·V) stay float. One x is quantised once for all the MatMuls
that read it; a weight read by several MatMuls is quantised once. Gemm nodes stay float, as with quantize_dynamic
(its integer-op registry has MatMul, not Gemm): in tools/make_bert_reference.py's export that is each layer's
attention output projection (about 8% of the layer's multiply-adds); the fused QKV and both FFN matrices are MatMuls.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_weight(w):
    w = w.astype(np.float32)
    scale = np.abs(w).max(axis=0) / 127.0
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)  # np.rint rounds half to even, like ORT
    return q, scale


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model = onnx.load(sys.argv[1])
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}

    def constant_of(name):
        if name in initializers:
            return numpy_helper.to_array(initializers[name])
        if name in constants:
            return numpy_helper.to_array(constants[name].attribute[0].t)
        return None

    quantized_x = {}   # activation name -> (x_q, x_scale, x_zero_point)
    quantized_w = {}   # weight name -> (B_q, B_zero_point, B_scale)
    new_nodes, new_inits, count, skipped = [], [], 0, 0
    for node in graph.node:
        weight = constant_of(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or weight.ndim != 2 or weight.dtype != np.float32:
            skipped += node.op_type == "MatMul"
            new_nodes.append(node)
            continue
        x, b, y = node.input[0], node.input[1], node.output[0]
        if x not in quantized_x:
            base = f"{x}_dq"
            quantized_x[x] = (f"{base}_quantized", f"{base}_scale", f"{base}_zero_point")
            new_nodes.append(helper.make_node("DynamicQuantizeLinear", [x], list(quantized_x[x]), name=f"{base}_DynamicQuantizeLinear"))
        x_q, x_scale, x_zp = quantized_x[x]
        if b not in quantized_w:
            q, scale = quantize_weight(weight)
            names = (f"{b}_quantized", f"{b}_zero_point", f"{b}_scale")
            new_inits.append(numpy_helper.from_array(q, names[0]))
            new_inits.append(numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), names[1]))
            new_inits.append(numpy_helper.from_array(scale, names[2]))
            quantized_w[b] = names
        b_q, b_zp, b_scale = quantized_w[b]
        base = node.name or y
        new_nodes.append(helper.make_node("MatMulInteger", [x_q, b_q, x_zp, b_zp], [f"{y}_int32"], name=f"{base}_MatMulInteger"))
        new_nodes.append(helper.make_node("Cast", [f"{y}_int32"], [f"{y}_int32_cast"], name=f"{base}_Cast", to=TensorProto.FLOAT))
        new_nodes.append(helper.make_node("Mul", [x_scale, b_scale], [f"{y}_scales_mul"], name=f"{base}_scales_mul"))
        new_nodes.append(helper.make_node("Mul", [f"{y}_int32_cast", f"{y}_scales_mul"], [y], name=f"{base}_output_mul"))
        count += 1

    # Float weights no node reads any more are dropped.
    used = {i for n in new_nodes for i in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.node[:]
    graph.node.extend(n for n in new_nodes if not (n.op_type == "Constant" and n.output[0] not in used))
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    if not any(o.domain in ("", "ai.onnx") and o.version >= 11 for o in model.opset_import):
        raise SystemExit("needs opset >= 11 (DynamicQuantizeLinear, MatMulInteger with per-column zero points)")
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(f"quantize_onnx_dynamic: {count} MatMuls with constant weights quantised (int8 per output channel, "
          f"uint8 dynamic activations), {skipped} MatMuls of two activations left in float, {len(quantized_x)} activations quantised -> {sys.argv[2]}")


if __name__ == "__main__":
    main()
