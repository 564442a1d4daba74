#!/usr/bin/env python3
"""numpy/OpenBLAS SGEMM GFLOPS for the sizes and thread counts GemmBench uses: the same-run baseline.

Usage (from the repository root, right before or after the JMH run it is compared with):
    python3 bench/openblas-baseline.py [--sizes 128,256,512,1000,1024,2048] [--threads 1,2] [--seconds 2]

Prints the CPU model, numpy's and OpenBLAS's versions, the OpenBLAS kernel that runs (its "core name"), then one
line per size and thread count: the median (and the best) of the timed rounds of C = A @ B in float32, as GFLOPS
(2 n^3 / s); the median is the figure to set beside JMH's median iteration.

Each thread count runs in a fresh Python process, because OpenBLAS fixes its threads when it loads. That child
runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (some machines set them, forcing an
older kernel and a smaller cache than the CPU has) and with OPENBLAS_NUM_THREADS set to the thread count;
nothing else is changed. Needs numpy 2.x (its wheels bundle OpenBLAS as scipy_openblas).
"""
import argparse
import ctypes
import glob
import os
import subprocess
import sys
import time


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "unknown (lscpu failed)"


def openblas_library():
    """The OpenBLAS numpy loaded, and the prefix of its exported names (scipy_openblas renames them)."""
    import numpy
    libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__), os.pardir, "numpy.libs", "*openblas*.so*"))
    if not libs:
        return None, None
    lib = ctypes.CDLL(libs[0])
    for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
        if hasattr(lib, prefix + "get_corename" + suffix):
            return lib, (prefix, suffix)
    return lib, None


def describe_openblas():
    lib, names = openblas_library()
    if lib is None or names is None:
        return "OpenBLAS not found beside numpy"
    prefix, suffix = names
    corename = getattr(lib, prefix + "get_corename" + suffix)
    corename.restype = ctypes.c_char_p
    config = getattr(lib, prefix + "get_config" + suffix)
    config.restype = ctypes.c_char_p
    threads = getattr(lib, prefix + "get_num_threads" + suffix)
    return "%s; kernel %s; %d threads" % (config().decode(), corename().decode(), threads())


def measure(sizes, seconds):
    """Runs in the child: best GFLOPS of each size."""
    import numpy as np
    print("  " + describe_openblas(), flush=True)
    rng = np.random.default_rng(1)
    for n in sizes:
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        np.matmul(a, b, out=c)  # warm-up: threads started, pages touched
        times = []
        deadline = time.perf_counter() + seconds
        rounds = 0
        while rounds < 3 or time.perf_counter() < deadline:
            reps = max(1, int(2e8 / (2.0 * n ** 3)))  # each timed round does at least ~0.2 GFLOP
            t0 = time.perf_counter()
            for _ in range(reps):
                np.matmul(a, b, out=c)
            times.append((time.perf_counter() - t0) / reps)
            rounds += 1
        times.sort()
        gflops = lambda t: 2.0 * n ** 3 / t / 1e9
        print("  n=%-5d %7.1f GFLOPS median, %.1f best, of %d rounds" % (n, gflops(times[len(times) // 2]),
                                                                         gflops(times[0]), rounds), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="128,256,512,1000,1024,2048")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--seconds", type=float, default=2.0, help="timing per size (default 2)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        measure(sizes, args.seconds)
        return
    import numpy
    print("CPU: %s" % cpu_model())
    print("numpy %s, Python %s" % (numpy.__version__, sys.version.split()[0]))
    for t in [int(s) for s in args.threads.split(",")]:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        env["OPENBLAS_NUM_THREADS"] = str(t)
        print("threads %d:" % t, flush=True)
        subprocess.run([sys.executable, __file__, "--child", "--sizes", args.sizes, "--seconds", str(args.seconds)],
                       env=env, check=True)


if __name__ == "__main__":
    main()
