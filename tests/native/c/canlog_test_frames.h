/* Columns for the CAN log kernels' C tests: a small FrameBatch on the stack. */
#ifndef CANLOG_TEST_FRAMES_H
#define CANLOG_TEST_FRAMES_H
#include "gw_canlog.h"
#define ROWS 8
typedef struct {
    double ts[ROWS];
    uint16_t ch[ROWS];
    uint32_t id[ROWS];
    uint8_t ext[ROWS], rtr[ROWS], err[ROWS], fd[ROWS], brs[ROWS], esi[ROWS], rx[ROWS], dlc[ROWS];
    uint8_t data[ROWS * GW_CANLOG_MAX_DATA];
    int64_t chans[4];
    gw_frames f;
} test_frames;

static void test_frames_init(test_frames *t, size_t cap) {
    memset(t, 0, sizeof *t);
    gw_frames *f = &t->f;
    f->timestamp = t->ts, f->channel = t->ch, f->arbitration_id = t->id;
    f->is_extended = t->ext, f->is_remote = t->rtr, f->is_error = t->err, f->is_fd = t->fd;
    f->bitrate_switch = t->brs, f->esi = t->esi, f->is_rx = t->rx, f->dlc = t->dlc, f->data = t->data;
    f->cap = cap < ROWS ? cap : ROWS;
    f->chan_values = t->chans, f->chan_cap = 4;
}
#endif
