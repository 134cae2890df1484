"""One search for the highest valid Server QPS with ``workers > 1``, in one process that keeps
one local Ray cluster for all its probes: ``python -m benchmarks._scale_search SPEC``.

A Ray cluster burns CPU for a few seconds after it starts (its Python daemons import and
register); a probe started then would measure Ray's start, not the run. So the cluster is
started once and left to settle, as a user's running cluster would be, and each probe is a
fresh ``run`` (fresh worker actors) on it. SPEC is a JSON object: ``workload``, ``workers``,
``start``, ``growth``, ``precision``, ``duration_ms``, ``settle_s``. The last stdout line is
``{"peak": QPS, "probes": [[qps, passed], ...], "workers": [worker entries]}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from typing import Any

import ray

from benchmarks._harness import Search, server_valid
from benchmarks._sides import run_asyncgen

PACING = "timer"


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    workers = spec["workers"]
    ray.init(
        address="local",
        num_cpus=max(workers, os.cpu_count() or 1),
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    entries: list[dict[str, Any]] = []
    try:
        time.sleep(spec["settle_s"])

        def passes(qps: float) -> bool:
            with tempfile.TemporaryDirectory(prefix="bench-scale-") as outdir:
                outcome = run_asyncgen(
                    {
                        "workload": spec["workload"],
                        "settings": {
                            "server_target_qps": qps,
                            "min_duration_ms": spec["duration_ms"],
                        },
                        "trace": False,
                        "outdir": outdir,
                        "mode": PACING,
                        "workers": workers,
                    }
                )
            entries.extend(outcome["workers"])
            return server_valid(outcome)

        search = Search(start=spec["start"], growth=spec["growth"], precision=spec["precision"])
        peak = search.run(passes)
    finally:
        ray.shutdown()
    sys.stdout.write(
        "\n" + json.dumps({"peak": peak, "probes": search.probes, "workers": entries}) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
