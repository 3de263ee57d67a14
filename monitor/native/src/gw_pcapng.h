/* The pcapng block walk's fast part: packet blocks (EPB, SPB, PB) and skipped blocks of one
 * chunk into rows (data position, caplen, wirelen, raw time, interface) as monitor/net/pcapng.py
 * lays them out. Section and interface blocks and anything damaged are handed back to the
 * Python walk, which reads them (options, warnings) and calls again past them. */
#ifndef GW_PCAPNG_H
#define GW_PCAPNG_H
#include <stdint.h>

enum {
    GW_PCAPNG_NEED_MORE = 0, /* the next block (or its header) runs past the chunk */
    GW_PCAPNG_HANDOFF = 1,   /* the block at *stop is for the Python walk: SHB, IDB or damage */
    GW_PCAPNG_FULL = 2,      /* the rows are full: call again from *stop */
};

#define GW_PCAPNG_ROW 5           /* int64 fields per row */
#define GW_PCAPNG_OUT_OF_RANGE (-2) /* raw time past 2^62 - 1 (pcapng.OUT_OF_RANGE) */

typedef struct {
    int big_endian;        /* this section's byte order */
    int64_t section_base;  /* index of this section's interface 0 among all interfaces */
    int64_t interfaces;    /* interfaces read so far, every section */
    int64_t file_pos;      /* file offset of buf[0] */
    int64_t file_size;     /* a block past it is damage, not a wait */
} gw_pcapng_state;

int gw_pcapng_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcapng_state *state,
                   int64_t *rows, int64_t capacity, int64_t *count, int64_t *stop);

#endif
