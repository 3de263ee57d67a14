/* BLF objects to frame columns, as python-can 4.6's BLFReader reads them. The caller reads the
 * file's objects and inflates its LOG_CONTAINERs (zlib stays in Python); this walks the objects
 * inside the inflated data: CAN_MESSAGE(2), CAN_FD_MESSAGE(_64) and CAN_ERROR_EXT into the
 * columns, timestamps in 10 us or 1 ns units per the object flags. */
#ifndef GW_BLF_H
#define GW_BLF_H
#include "gw_canlog.h"

enum {
    GW_BLF_TAIL = 0,      /* no whole object left: the data from *pos on starts the next one */
    GW_BLF_FULL = 1,      /* the columns are full; call again at *pos */
    GW_BLF_LOST = 2,      /* no "LOBJ" where an object must start (python-can raises) */
    GW_BLF_VERSION = 3,   /* an object header of unknown *version, skipped (python-can warns) */
    GW_BLF_TICKS = 4,     /* the last row's time is past 2^53 ticks: *ticks, *ten_us, for the caller */
    GW_BLF_STUCK = 5,     /* an object of size 0 would be read forever (the caller's check stops it) */
};

/* Walks data[*pos, len) until one of the statuses above. */
int gw_blf_walk(const uint8_t *data, size_t len, double start, gw_frames *f, size_t *pos,
                uint32_t *version, uint64_t *ticks, int *ten_us);

enum { GW_BLF_CHECK_OK = 0, GW_BLF_CHECK_STOP = 1, GW_BLF_CHECK_SIZE = 2, GW_BLF_CHECK_SHORT = 3 };

/* blfcheck's walk of a container's objects: OK with *pos where the unfinished object starts,
 * STOP where no object starts where one must, SIZE for an object (at *at) whose declared
 * *size is outside [16, max_size], SHORT for an object header (at *at) cut by the data's end. */
int gw_blf_check(const uint8_t *data, size_t len, uint32_t max_size, size_t *pos, size_t *at, uint32_t *size);
#endif
