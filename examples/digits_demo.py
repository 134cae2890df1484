"""``make demo``: a real model behind a real async HTTP server, load-tested with asyncgen.

1. Split scikit-learn's digits data set (it ships with the library; nothing is downloaded) and
   write the test split as JSON Lines request bodies.
2. Start ``examples.digits_server`` in its own process on 127.0.0.1 (it trains the classifier
   at start-up, about a second).
3. ``asyncgen run`` a 10-second Server-scenario performance test against it, with live progress.
4. ``asyncgen run`` an accuracy test (every test image once) and score its accuracy log.
5. Stop the server.

Everything lands in ``out/digits/``. Run it with ``python -m examples.digits_demo`` from the
repository root; ``--help`` lists the knobs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from examples.digits_accuracy import top1
from examples.digits_model import load_split, write_dataset

CONFIG = Path(__file__).with_name("digits-server.conf")
STOP_TIMEOUT_S = 10


@contextmanager
def digits_server() -> Iterator[str]:
    """Run the model server in a child process for the ``with`` block; yields its base URL."""
    with subprocess.Popen(
        [sys.executable, "-m", "examples.digits_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()  # the server prints once it accepts connections
            if "listening on " not in line:
                raise SystemExit(f"the digits server did not start (exit status {server.wait()})")
            print(line.strip(), flush=True)
            yield line.rsplit("listening on ", 1)[1].strip()
        finally:
            server.terminate()  # SIGTERM: the server closes its connections and exits
            try:
                server.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                server.kill()


def asyncgen_run(args: Sequence[str]) -> int:
    """``asyncgen run`` in a child process, as a user would type it; returns its exit status."""
    print(f"\n$ asyncgen run {shlex.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "asyncgen", "run", *args], check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=Path("out/digits"), help="log folder")
    parser.add_argument("--qps", type=float, help="override the config's 200 QPS")
    parser.add_argument("--duration-ms", type=int, help="override the config's 10000 ms")
    args = parser.parse_args(argv)

    samples, labels_path = write_dataset(load_split(), args.outdir)
    print(f"test split: {samples} (labels in {labels_path})")
    with digits_server() as url:
        common = [
            "--scenario", "Server",
            "--config", os.path.relpath(CONFIG),
            "--model", "digits",
            "--sut", f"{url}/predict",
            "--adapter", "http",
            "--dataset", str(samples),
        ]  # fmt: skip
        if args.qps is not None:
            common += ["--qps", f"{args.qps:g}"]
        if args.duration_ms is not None:
            common += ["--duration-ms", str(args.duration_ms)]
        performance = asyncgen_run([*common, "--outdir", str(args.outdir / "performance")])
        if performance > 1:  # 0 VALID, 1 INVALID; anything else is an error, already printed
            return performance
        accuracy = asyncgen_run(
            [*common, "--mode", "accuracy", "--outdir", str(args.outdir / "accuracy")]
        )
        if accuracy > 1:
            return accuracy
    summary = args.outdir / "performance" / "mlperf_log_summary.txt"
    print(f"\n{summary}:\n{summary.read_text(encoding='utf-8')}")
    entries = json.loads((args.outdir / "accuracy" / "mlperf_log_accuracy.json").read_text())
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    print(f"accuracy run: {top1(entries, labels)}")
    verdict = "VALID" if performance == 0 else "INVALID (see the reasons above)"
    print(f"performance run: {verdict}")
    return 0  # both runs ran; an INVALID verdict on a busy machine is a result, not a failure


if __name__ == "__main__":
    sys.exit(main())
