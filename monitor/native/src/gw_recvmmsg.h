/* The raw SocketCAN receive loop: kernel can_frame / canfd_frame records into FrameBatch
 * columns (monitor/canbus/rawsocket.py is the reference). poll + recvmmsg are Linux only; the
 * record conversion and the ancillary-data parser build everywhere (the C tests use them). */
#ifndef GW_RECVMMSG_H
#define GW_RECVMMSG_H
#include <stddef.h>
#include <stdint.h>

#define GW_CAN_MTU 16
#define GW_CANFD_MTU 72
#define GW_CAN_MAX_DATA 64

/* FrameBatch's columns, as the caller preallocated them (bool columns are one byte each).
 * channel and is_rx are not written: a raw source's rows are all channel 0 and received. */
typedef struct {
    double *timestamp;
    uint32_t *arbitration_id;
    uint8_t *is_extended;
    uint8_t *is_remote;
    uint8_t *is_error;
    uint8_t *is_fd;
    uint8_t *bitrate_switch;
    uint8_t *error_state_indicator;
    uint8_t *dlc;
    uint8_t *data; /* GW_CAN_MAX_DATA bytes a row */
} gw_can_columns;

/* What one receive call did. */
typedef struct {
    int64_t frames;       /* rows filled */
    int64_t unstamped;    /* rows without a kernel timestamp (their timestamp is NaN) */
    int64_t kernel_drops; /* the last SO_RXQ_OVFL counter seen, -1 if none came */
    int32_t closed;       /* the peer closed (socket pairs only: AF_CAN never does) */
    int32_t error;        /* errno of a failed poll/recvmmsg, 0 if none */
} gw_can_receipt;

/* A kernel timestamp in seconds, rounded exactly as numpy's `sec + nsec * 1e-9`. */
double gw_can_seconds(int64_t sec, int64_t nsec);

/* Writes one record of `size` bytes into row `row`. Returns 1 if it was a CAN record (16 or
 * 72 bytes) and was written, 0 if it was skipped. Reads at most `size` bytes of `record`. */
int gw_can_record_to_row(const uint8_t *record, size_t size, double stamp, const gw_can_columns *out,
                         int64_t row);

/* Reads a message's control buffer: sets *stamp (left alone without SCM_TIMESTAMPNS) and
 * *drops (left alone without SO_RXQ_OVFL). Linux only; elsewhere it changes nothing. */
void gw_can_ancillary(const uint8_t *control, size_t length, double *stamp, int64_t *drops);

/* 1 where gw_can_receive works (Linux), 0 where it returns ENOSYS. */
int gw_can_receive_supported(void);

/* Waits up to timeout_ns for records on fd, lets more gather for gather_ns, takes what is
 * there with recvmmsg, and repeats until `limit` rows are filled, the timeout has passed, the
 * peer closed or a call failed. Rows go into out[0 .. limit). Returns receipt->frames. */
int64_t gw_can_receive(int fd, const gw_can_columns *out, int64_t limit, int64_t timeout_ns, int64_t gather_ns,
                       gw_can_receipt *receipt);
#endif
