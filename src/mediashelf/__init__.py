"""mediashelf: a self-hosted media asset library for AI video pipelines."""

__version__ = "0.1.0"
