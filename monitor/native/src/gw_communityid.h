/* Community ID v1 of canonical flow keys (community_id.py holds the reference): SHA-1 over
 * seed, the ordered addresses, protocol, a zero byte and the ordered ports, base64. */
#ifndef GW_COMMUNITYID_H
#define GW_COMMUNITYID_H
#include <stddef.h>
#include <stdint.h>

/* SHA-1 of len bytes (FIPS 180-4). */
void gw_sha1(const uint8_t *data, size_t len, uint8_t digest[20]);

/* Standard base64 (with padding) of len bytes into out (4 * ceil(len / 3) bytes); returns that length. */
size_t gw_base64(const uint8_t *data, size_t len, char *out);

/* The quoted ID ("\"1:...=\"", GW_COMMUNITY_QUOTED bytes) of a key whose a side is the lower
 * (flowkeys.canonical_keys): version 4 takes the low 32 bits of a_lo and b_lo. Returns 0, or
 * -1 (nothing written) for a version other than 4 or 6. */
#define GW_COMMUNITY_QUOTED 32
int gw_community_id(uint16_t seed, uint8_t version, uint8_t proto, uint64_t a_hi, uint64_t a_lo, uint64_t b_hi,
                    uint64_t b_lo, uint16_t a_port, uint16_t b_port, char *out);
#endif
