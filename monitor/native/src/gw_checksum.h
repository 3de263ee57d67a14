/* TCP checksum verdicts for batch rows (the reassembly's _checksum/checksum_state in C). */
#ifndef GW_CHECKSUM_H
#define GW_CHECKSUM_H
#include "gw_common.h"

/* Verdict codes, one per row. */
enum {
    GW_CSUM_UNVERIFIABLE = 0, /* cut by the snap length, or the TCP header cannot be found */
    GW_CSUM_GOOD = 1,
    GW_CSUM_BAD = 2,
    GW_CSUM_OFFLOADED = 3, /* field 0 or the bare pseudo-header sum */
    GW_CSUM_FALLBACK = 4   /* a row the C does not decide (reads past the buffer...): Python decides */
};

/* The columns of the rows to check (n of each), as the Headers hold them. */
typedef struct {
    const int64_t *l3;
    const uint8_t *version;
    const int64_t *payload;
    const int64_t *payload_len;
    const int64_t *captured_len;
    const int64_t *ip_bytes;
} gw_checksum_rows;

/* One verdict per row into out[0..n). data/len: the batch's bytes. */
void gw_checksum_verdicts(const uint8_t *data, int64_t len, const gw_checksum_rows *rows, int64_t n, uint8_t *out);

/* The verdict of one row (the same rules). */
uint8_t gw_checksum_verdict(const uint8_t *data, int64_t len, int64_t l3, uint8_t version, int64_t payload,
                            int64_t payload_len, int64_t captured_len, int64_t ip_bytes);

/* Sum of the big-endian 16-bit words of p[0..n) (an odd last byte padded with a zero), not folded. */
uint64_t gw_checksum_words(const uint8_t *p, int64_t n);
#endif
