"""Time to read large MPS files: scotopt's reader vs highspy's reader, side by side in one run.

For each file (default: Kennington ken-18 and pds-100 from ../shared/data) and each reader, the
read is repeated ``--repeat`` times, the readers interleaved so that machine noise hits both
alike; the table gives the median. Readers:

- ``scotopt``: ``scotopt.io.read_mps`` (its own parser, line-numbered errors, QPS);
- ``scotopt-highs``: ``read_mps(engine="highs")``: highspy's parser plus the conversion to an LP;
- ``highspy``: ``highspy.Highs().readModel`` alone, the peer's reader with nothing added;
- ``npz``: ``scotopt.io.load_npz`` of the same problem saved by ``scotopt convert`` (for scale).

Peak memory: each reader also runs once in a fresh process, reporting the growth of its peak
RSS over the interpreter with imports done, next to scotopt's pre-read estimate
(:func:`scotopt.memory.mps_read_bytes`).

Usage: ``python bench/io_read.py [--files ken-18 pds-100] [--repeat 5] [--out bench/results/io_read]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tables import write_csv  # noqa: E402 - bench/ is on the path only after the line above

KENNINGTON = ROOT.parent / "shared" / "data" / "kennington"

_CHILD = r"""
import json, sys
import highspy
import scotopt.io as sio
from scotopt.io.highs import quiet_highs

def peak_kib():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork+exec, so a child started by a
    # big parent would report the parent's peak
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))

reader, path = sys.argv[1], sys.argv[2]
h = quiet_highs()
before = peak_kib()
if reader == "scotopt":
    sio.read_mps(path)
elif reader == "scotopt-highs":
    sio.read_mps(path, engine="highs")
elif reader == "highspy":
    h.readModel(path)
else:
    sio.load_npz(path)
after = peak_kib()
print(json.dumps({"peak_growth_bytes": (after - before) * 1024}))
"""


def _read(reader: str, path: Path):
    import scotopt.io as sio
    from scotopt.io.highs import quiet_highs

    if reader == "scotopt":
        return sio.read_mps(path)
    if reader == "scotopt-highs":
        return sio.read_mps(path, engine="highs")
    if reader == "highspy":
        h = quiet_highs()
        h.readModel(str(path))
        return h
    return sio.load_npz(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=["ken-18", "pds-100"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "io_read"))
    args = parser.parse_args(argv)

    from scotopt.io import save_npz
    from scotopt.io.textfile import uncompressed_size
    from scotopt.memory import format_bytes, mps_read_bytes

    readers = ["scotopt", "scotopt-highs", "highspy", "npz"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.files:
            path = KENNINGTON / f"{name}.mps.gz"
            if not path.exists():
                print(f"skip {name}: {path} not found", file=sys.stderr)
                continue
            problem = _read("scotopt", path)
            npz_path = Path(tmp) / f"{name}.npz"
            save_npz(problem, npz_path)
            times = {r: [] for r in readers}
            for _ in range(args.repeat):
                for reader in readers:
                    target = npz_path if reader == "npz" else path
                    started = time.perf_counter()
                    _read(reader, target)
                    times[reader].append(time.perf_counter() - started)
            for reader in readers:
                target = npz_path if reader == "npz" else path
                child = subprocess.run([sys.executable, "-c", _CHILD, reader, str(target)], capture_output=True,
                                       text=True, check=True, cwd=ROOT)
                peak = json.loads(child.stdout.strip().splitlines()[-1])["peak_growth_bytes"]
                rows.append({
                    "instance": name, "reader": reader, "rows": problem.num_rows, "cols": problem.num_vars,
                    "nonzeros": problem.A.nnz, "median_s": statistics.median(times[reader]),
                    "min_s": min(times[reader]), "repeats": args.repeat,
                    "ratio_to_highspy": statistics.median(times[reader]) / statistics.median(times["highspy"]),
                    "peak_rss_growth": peak,
                    "estimate": mps_read_bytes(uncompressed_size(path)) if reader == "scotopt" else "",
                })
                print(f"{name:8s} {reader:14s} median {rows[-1]['median_s']:.3f} s  "
                      f"x{rows[-1]['ratio_to_highspy']:.2f} of highspy  peak +{format_bytes(peak)}", flush=True)
    out = Path(args.out)
    write_csv(rows, out)
    lines = ["| instance | reader | median s | x highspy | peak RSS growth | pre-read estimate |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        estimate = format_bytes(row["estimate"]) if row["estimate"] != "" else ""
        lines.append(f"| {row['instance']} | {row['reader']} | {row['median_s']:.3f} | {row['ratio_to_highspy']:.2f} "
                     f"| {format_bytes(row['peak_rss_growth'])} | {estimate} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
