# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""gatewatch's compiled core: the C kernels of src/ over numpy buffers, the GIL released.

One module; each kernel's wrapper is a .pxi beside it, included here, and its C in src/.
Every wrapper checks the shapes and dtypes it is handed and raises ValueError before the C
runs: the C trusts its arguments (sizes included) and bounds every read by them.
"""

include "can.pxi"
include "canlogs.pxi"
include "packets.pxi"
include "flows.pxi"
include "apps.pxi"
include "live.pxi"
include "streams.pxi"

cdef extern from "gw_version.h":
    int gw_abi_version() nogil


def abi_version():
    """The C kernels' ABI version (a check that the module and its C were built together)."""
    return gw_abi_version()
