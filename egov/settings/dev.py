"""Development and the embedded default (`make run`)."""

from .base import *

DEBUG = env_bool("EGOV_DEBUG", True)
