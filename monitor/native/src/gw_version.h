#ifndef GW_VERSION_H
#define GW_VERSION_H
#define GW_ABI_VERSION 1
int gw_abi_version(void);
#endif
