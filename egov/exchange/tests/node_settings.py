"""Settings of the node processes started by the multi-node tests and the benchmark."""

from egov.settings.test import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "egov.exchange.tests.nodeapp.NodeTestConfig"]  # noqa: F405
