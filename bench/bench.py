#!/usr/bin/env python3
"""bench.py - builtin-backend figures: records/s and MB/s (10,000 records, --jobs 1 and 2) and peak RSS
(1,000 vs 100,000 records). Prints figures; asserts nothing (timings on a shared machine are noisy, so
compare ratios measured in the same run)."""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def run(binary, out, args):
    """Runs one generation in a fresh child; returns (seconds, peak RSS in MiB, bytes written, CPU seconds)."""
    shutil.rmtree(out, ignore_errors=True)
    code = ("import resource, subprocess, sys;"
            "subprocess.run(sys.argv[1:], check=True);"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(u.ru_maxrss, u.ru_utime + u.ru_stime)")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, binary, "--out", out, "-q", *args],
                         check=True, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    rss_kib, cpu = res.stdout.strip().splitlines()[-1].split()
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    return secs, int(rss_kib) / 1024, size, float(cpu)


def main():
    binary = sys.argv[1]
    # Output on tmpfs when there is one: the figures are about the generator, not the disk's journal.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="llmsyn-bench-", dir=shm)
    try:
        print(f"llmsyn-fhir builtin backend, {os.cpu_count()} cores, output in {tmp}")
        rates = {}
        for fmt in ("bundles", "ndjson"):
            for jobs in (1, 2):
                best = cpu_best = None
                for _ in range(3):
                    secs, _, size, cpu = run(binary, f"{tmp}/t", ["-n", "10000", "--jobs", str(jobs), "--format", fmt])
                    best = secs if best is None else min(best, secs)
                    cpu_best = cpu if cpu_best is None else min(cpu_best, cpu)
                rates[(fmt, jobs)] = 10000 / best
                print(f"throughput {fmt:8s} --jobs {jobs}: {10000 / best:9.0f} records/s "
                      f"{size / best / 1e6:7.1f} MB/s ({size / 1e6:.1f} MB in {best:.2f}s, best of 3); "
                      f"{10000 / cpu_best:.0f} records per CPU-second")
            print(f"speed-up {fmt} jobs 2 / jobs 1: {rates[(fmt, 2)] / rates[(fmt, 1)]:.2f}x")
        rss = {}
        for n in (1000, 100000):
            secs, rss[n], size, _ = run(binary, f"{tmp}/m", ["-n", str(n), "--format", "ndjson"])
            print(f"peak RSS {n:6d} records (ndjson): {rss[n]:6.1f} MiB ({secs:.1f}s, {size / 1e6:.0f} MB written)")
        print(f"RSS growth 1,000 -> 100,000 records: {rss[100000] - rss[1000]:.1f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
