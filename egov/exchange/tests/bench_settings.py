"""Node settings for bench/bench_exchange.py: the node settings plus the baseline endpoint."""

from egov.exchange.tests.node_settings import *  # noqa: F403

ROOT_URLCONF = "egov.exchange.tests.bench_urls"
