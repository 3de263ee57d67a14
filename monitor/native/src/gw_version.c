/* The kernels' ABI version: the Cython layer checks it matches what it was written for. */
#include "gw_version.h"
int gw_abi_version(void) { return GW_ABI_VERSION; }
