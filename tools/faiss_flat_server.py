#!/usr/bin/python3
"""FAISS IndexFlatIP as a subprocess for the scoring side-by-side benchmark (bench/RankEngine.Bench, `scoring`).

Usage: faiss_flat_server.py CATALOG.f32 ROWS DIM QUERIES.f32 NQ THREADS
Loads the raw float32 files, builds an exact inner-product index, prints "ready <faiss version>", then answers
commands on stdin, one per line:
  search NQ K          -> runs index.search on the first NQ queries, prints "done <seconds>"
  dump NQ K OUT.i64    -> writes the ids of that search (int64, NQ x K) to OUT.i64, prints "done <seconds>"
  quit
Run with Debian's /usr/bin/python3 (python3-faiss, python3-numpy).
"""
import sys
import time

import faiss
import numpy as np


def main():
    catalog_path, rows, dim, query_path, nq, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    faiss.omp_set_num_threads(threads)
    xb = np.fromfile(catalog_path, dtype=np.float32, count=rows * dim).reshape(rows, dim)
    xq = np.fromfile(query_path, dtype=np.float32, count=nq * dim).reshape(nq, dim)
    index = faiss.IndexFlatIP(dim)
    index.add(xb)
    del xb
    print(f"ready {faiss.__version__} threads={faiss.omp_get_max_threads()}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        n, k = int(cmd[1]), int(cmd[2])
        start = time.perf_counter()
        _, ids = index.search(xq[:n], k)
        elapsed = time.perf_counter() - start
        if cmd[0] == "dump":
            ids.astype(np.int64).tofile(cmd[3])
        print(f"done {elapsed:.6f}", flush=True)


if __name__ == "__main__":
    main()
