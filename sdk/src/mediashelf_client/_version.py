"""The version of both distributions, mediashelf and mediashelf-client: their builds read it."""

__version__ = "0.1.0"
