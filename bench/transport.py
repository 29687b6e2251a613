"""How fast arrays travel from the engine process to the window (run by hand).

Compares the engine's transport (a ``multiprocessing`` spawn-context Pipe carrying
pickled results) with shared memory (``multiprocessing.shared_memory``: the child
writes into a block, the parent copies it out), for the array sizes ConvViz sends:
a Grad-CAM result with its image (~1 MiB), an activation layer (Xception block1,
147x147x64 float32 = 5.3 MiB), a 64-filter grid (~4 MiB) and an extreme 64 MiB.
Ends with one JSON line of MiB/s per size and transport.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from multiprocessing import shared_memory

import numpy as np

SIZES_MIB = (1, 5, 16, 64)
REPEATS = 5


def _pipe_child(connection, nbytes: int) -> None:
    array = np.ones(nbytes // 4, np.float32)
    for _ in range(REPEATS):
        connection.recv()
        connection.send(("result", 1, array))
    connection.close()


def _shm_child(connection, nbytes: int) -> None:
    array = np.ones(nbytes // 4, np.float32)
    for _ in range(REPEATS):
        connection.recv()
        block = shared_memory.SharedMemory(create=True, size=array.nbytes)
        np.ndarray(array.shape, array.dtype, buffer=block.buf)[:] = array
        connection.send(("result", 1, block.name, array.shape))
        connection.recv()  # the parent has copied it out
        block.close()
        block.unlink()
    connection.close()


def measure(child, nbytes: int, shared: bool) -> float:
    """Median seconds from request to the array in the parent's hands."""
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    process = context.Process(target=child, args=(child_end, nbytes))
    process.start()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        parent.send("go")
        message = parent.recv()
        if shared:
            block = shared_memory.SharedMemory(name=message[2])
            array = np.ndarray(message[3], np.float32, buffer=block.buf).copy()
            block.close()
            parent.send("done")
        else:
            array = message[2]
        assert array.nbytes == nbytes // 4 * 4
        times.append(time.perf_counter() - started)
    process.join()
    return float(np.median(times))


def main() -> None:
    figures = {}
    print(f"{'array':>10} {'pipe (ms)':>10} {'pipe MiB/s':>11} {'shm (ms)':>10} {'shm MiB/s':>10}")
    for mib in SIZES_MIB:
        nbytes = mib * 2**20
        pipe_s = measure(_pipe_child, nbytes, shared=False)
        shm_s = measure(_shm_child, nbytes, shared=True)
        print(f"{mib:>7} MiB {pipe_s * 1000:10.1f} {mib / pipe_s:11.0f} {shm_s * 1000:10.1f} "
              f"{mib / shm_s:10.0f}")
        figures[f"pipe_mib_per_s_{mib}"] = round(mib / pipe_s)
        figures[f"shm_mib_per_s_{mib}"] = round(mib / shm_s)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
