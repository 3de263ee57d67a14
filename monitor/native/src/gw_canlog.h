/* The frame columns the CAN log readers (gw_asc.c, gw_blf.c) write: one FrameBatch's arrays,
 * preallocated by the caller (zero-filled data rows), and the log's channel table (code ->
 * channel number, first appearance first), which the caller keeps across batches. */
#ifndef GW_CANLOG_H
#define GW_CANLOG_H
#include "gw_common.h"

#define GW_CANLOG_MAX_DATA 64

typedef struct {
    double *timestamp;
    uint16_t *channel;
    uint32_t *arbitration_id;
    uint8_t *is_extended, *is_remote, *is_error, *is_fd, *bitrate_switch, *esi, *is_rx, *dlc;
    uint8_t *data; /* cap rows of GW_CANLOG_MAX_DATA bytes, zero on entry */
    size_t cap, n;
    int64_t *chan_values; /* code -> channel number */
    size_t chan_cap, chan_n;
    size_t chan_last;     /* the code found last: logs rarely switch channel */
} gw_frames;

/* The code of a channel number, added to the table when new; -1 when the table is full. */
static inline int32_t gw_canlog_channel(gw_frames *f, int64_t value) {
    if (f->chan_last < f->chan_n && f->chan_values[f->chan_last] == value) return (int32_t)f->chan_last;
    for (size_t i = 0; i < f->chan_n; i++) {
        if (f->chan_values[i] == value) {
            f->chan_last = i;
            return (int32_t)i;
        }
    }
    if (f->chan_n >= f->chan_cap || f->chan_n > 0xFFFF) return -1;
    f->chan_values[f->chan_n] = value;
    f->chan_last = f->chan_n;
    return (int32_t)f->chan_n++;
}

/* Python's dlc2len: a DLC code's payload length (codes past 15 read as 64). */
static inline uint32_t gw_canlog_dlc2len(uint64_t dlc) {
    static const uint8_t lengths[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};
    return dlc <= 15 ? lengths[dlc] : 64;
}

/* One row with every flag cleared and is_rx set (python-can's Message defaults but
 * is_extended_id, which the readers set); returns its index. Caller checked n < cap. */
static inline size_t gw_canlog_row(gw_frames *f, double timestamp, uint16_t channel) {
    size_t i = f->n++;
    f->timestamp[i] = timestamp;
    f->channel[i] = channel;
    f->arbitration_id[i] = 0;
    f->is_extended[i] = f->is_remote[i] = f->is_error[i] = f->is_fd[i] = 0;
    f->bitrate_switch[i] = f->esi[i] = f->dlc[i] = 0;
    f->is_rx[i] = 1;
    return i;
}
#endif
