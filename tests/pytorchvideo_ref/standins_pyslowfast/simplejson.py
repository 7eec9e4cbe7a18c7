"""Stand-in for ``simplejson`` in the PySlowFast reference harness: PySlowFast's logging module
imports it to format training stats, which building and running a model never does; the standard
``json`` module serves that import."""
from json import *  # noqa: F401,F403
