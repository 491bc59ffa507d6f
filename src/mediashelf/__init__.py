"""mediashelf: a self-hosted media asset library for AI video pipelines.

The SDK lives in `mediashelf_client` (its own light distribution too); its public names are
re-exported here, so `from mediashelf import Client` keeps working and loads only httpx.
"""

from mediashelf_client import *  # noqa: F403 - the SDK's public names, as its __all__ lists them
from mediashelf_client import __all__ as _sdk_names

__all__ = list(_sdk_names)
