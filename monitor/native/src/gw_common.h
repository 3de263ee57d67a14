/* Shared by the C kernels: fixed-width types and the bounded-read helpers.
 * No Python API here or in any kernel: they build and run alone (tests/native/c, aarch64). */
#ifndef GW_COMMON_H
#define GW_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t gw_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t gw_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint16_t gw_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t gw_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t gw_le64(const uint8_t *p) {
    return (uint64_t)gw_le32(p) | ((uint64_t)gw_le32(p + 4) << 32);
}
#endif
