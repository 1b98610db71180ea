#!/usr/bin/python3
"""FAISS indexes as a subprocess for the side-by-side benchmarks (bench/RankEngine.Bench, `scoring`, `quant-scan`).

Usage: faiss_flat_server.py CATALOG.f32 ROWS DIM QUERIES.f32 NQ THREADS [INDEX,...]
INDEX is one or more of (comma-separated; default flat):
  flat   IndexFlatIP (exact inner product)
  sq8    IndexScalarQuantizer(DIM, QT_8bit, METRIC_INNER_PRODUCT), trained on the whole catalog
Loads the raw float32 files, builds the indexes, prints "ready <faiss version> ..." (with build times), then answers
commands on stdin, one per line (INDEX defaults to the first index built):
  search NQ K [INDEX]          -> one index.search of the first NQ queries, prints "done <seconds>"
  each NQ K [INDEX]            -> the first NQ queries searched one at a time (NQ searches of 1), prints "done <seconds>"
  dump NQ K OUT.i64 [INDEX]    -> writes the ids of `search NQ K` (int64, NQ x K) to OUT.i64, prints "done <seconds>"
  quit
Run with Debian's /usr/bin/python3 (python3-faiss, python3-numpy).
"""
import sys
import time

import faiss
import numpy as np


def build(kind, xb, dim):
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "sq8":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.train(xb)
    else:
        raise SystemExit(f"unknown index type {kind!r} (flat, sq8)")
    index.add(xb)
    return index


def main():
    catalog_path, rows, dim, query_path, nq, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    kinds = sys.argv[7].split(",") if len(sys.argv) > 7 else ["flat"]
    faiss.omp_set_num_threads(threads)
    xb = np.fromfile(catalog_path, dtype=np.float32, count=rows * dim).reshape(rows, dim)
    xq = np.fromfile(query_path, dtype=np.float32, count=nq * dim).reshape(nq, dim)
    indexes, built = {}, []
    for kind in kinds:
        start = time.perf_counter()
        indexes[kind] = build(kind, xb, dim)
        built.append(f"{kind}:{time.perf_counter() - start:.1f}s")
    del xb
    print(f"ready {faiss.__version__} threads={faiss.omp_get_max_threads()} built={','.join(built)}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        n, k = int(cmd[1]), int(cmd[2])
        rest = cmd[4:] if cmd[0] == "dump" else cmd[3:]
        index = indexes[rest[0] if rest else kinds[0]]
        start = time.perf_counter()
        if cmd[0] == "each":
            for i in range(n):
                index.search(xq[i:i + 1], k)
            ids = None
        else:
            _, ids = index.search(xq[:n], k)
        elapsed = time.perf_counter() - start
        if cmd[0] == "dump":
            ids.astype(np.int64).tofile(cmd[3])
        print(f"done {elapsed:.6f}", flush=True)


if __name__ == "__main__":
    main()
