"""One Ray cluster for the whole test session, started only if a scale-out test asks for it:
a head that runs no worker and two 2-CPU "nodes" (``cluster.steady``), all on this machine
(``ray.cluster_utils.Cluster``), joined by one ``ray.init``. Runs use it as it is (a program's
own ``ray.init`` is respected); the node-loss test adds a node of its own to lose."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
import ray
from ray.cluster_utils import Cluster

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

# A lost node is declared dead in about 1.5 s, not 15 s or more.
FAST_HEALTH_CHECK = {
    "health_check_initial_delay_ms": 1000,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """The session's ``Cluster``, with the driver connected to it."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "_system_config": FAST_HEALTH_CHECK,
        },
    )
    try:
        cluster.steady = [cluster.add_node(num_cpus=2) for _ in range(2)]  # type: ignore[attr-defined]
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level=logging.ERROR, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
