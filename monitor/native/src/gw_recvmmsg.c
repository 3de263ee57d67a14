/* The raw SocketCAN receive loop (reference: monitor/canbus/rawsocket.py, recvmmsg.py).
 *
 * One call waits for the socket, lets frames gather, drains them with recvmmsg into a small
 * scratch block on the stack and converts each record straight into the caller's columns; it
 * repeats until the rows or the time run out, so Python runs once per batch, not per frame. */
#define _GNU_SOURCE /* recvmmsg */
#include "gw_recvmmsg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#ifdef __linux__
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#endif

#define CAN_EFF_FLAG 0x80000000u
#define CAN_RTR_FLAG 0x40000000u
#define CAN_ERR_FLAG 0x20000000u
#define CAN_EFF_MASK 0x1FFFFFFFu
#define CAN_SFF_MASK 0x000007FFu
#define CANFD_BRS 0x01u
#define CANFD_ESI 0x02u
#define GW_SCM_TIMESTAMPNS 35 /* linux/asm-generic/socket.h (SO_TIMESTAMPNS_OLD) */
#define GW_SO_RXQ_OVFL 40

double gw_can_seconds(int64_t sec, int64_t nsec) {
    /* volatile: keeps the compiler from fusing the multiply and add into one FMA (aarch64 GCC
     * does by default), which would round differently from numpy's two steps. */
    volatile double fraction = (double)nsec * 1e-9;
    return (double)sec + fraction;
}

int gw_can_record_to_row(const uint8_t *record, size_t size, double stamp, const gw_can_columns *out,
                         int64_t row) {
    if (size != GW_CAN_MTU && size != GW_CANFD_MTU)
        return 0; /* not a CAN record: the kernel never sends these; skipped as the reference does */
    uint32_t can_id;
    memcpy(&can_id, record, sizeof can_id); /* the kernel writes it in host byte order */
    int fd = size == GW_CANFD_MTU;
    int extended = (can_id & CAN_EFF_FLAG) != 0;
    int error = (can_id & CAN_ERR_FLAG) != 0;
    int remote = (can_id & CAN_RTR_FLAG) != 0 && !fd;
    unsigned most = fd ? GW_CAN_MAX_DATA : 8;
    unsigned length = record[4] < most ? record[4] : most;
    unsigned flags = fd ? record[5] : 0;
    uint8_t *data = out->data + (size_t)row * GW_CAN_MAX_DATA;
    unsigned present = remote ? 0 : length; /* a remote frame's length is only requested */
    memcpy(data, record + 8, present);    /* 8 + present <= size: 16 for classic, 72 for FD */
    memset(data + present, 0, GW_CAN_MAX_DATA - present);
    out->timestamp[row] = stamp;
    out->arbitration_id[row] = can_id & (extended || error ? CAN_EFF_MASK : CAN_SFF_MASK);
    out->is_extended[row] = (uint8_t)extended;
    out->is_remote[row] = (uint8_t)remote;
    out->is_error[row] = (uint8_t)error;
    out->is_fd[row] = (uint8_t)fd;
    out->bitrate_switch[row] = (flags & CANFD_BRS) != 0;
    out->error_state_indicator[row] = (flags & CANFD_ESI) != 0;
    out->dlc[row] = (uint8_t)length;
    return 1;
}

#ifdef __linux__

void gw_can_ancillary(const uint8_t *control, size_t length, double *stamp, int64_t *drops) {
    struct msghdr header;
    memset(&header, 0, sizeof header);
    header.msg_control = (void *)control; /* CMSG_NXTHDR only reads through it */
    header.msg_controllen = length;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header); cmsg != NULL; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_len < CMSG_LEN(0))
            continue;
        size_t payload = cmsg->cmsg_len - CMSG_LEN(0);
        if (cmsg->cmsg_type == GW_SCM_TIMESTAMPNS && payload >= sizeof(struct timespec)) {
            struct timespec spec; /* copied: the payload need not be aligned for it */
            memcpy(&spec, CMSG_DATA(cmsg), sizeof spec);
            *stamp = gw_can_seconds(spec.tv_sec, spec.tv_nsec);
        } else if (cmsg->cmsg_type == GW_SO_RXQ_OVFL && payload >= 4) {
            uint32_t dropped;
            memcpy(&dropped, CMSG_DATA(cmsg), sizeof dropped);
            *drops = dropped;
        }
    }
}

int gw_can_receive_supported(void) { return 1; }

enum { CHUNK = 64 }; /* records per recvmmsg: about 13 KB of stack with their headers */
#define CONTROL_SPACE (CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))) /* a timespec, then the drop counter */

typedef struct {
    struct mmsghdr headers[CHUNK];
    struct iovec vectors[CHUNK];
    uint8_t records[CHUNK][GW_CANFD_MTU];
    union { /* aligned as the kernel's cmsghdr wants */
        struct cmsghdr align;
        uint8_t bytes[CONTROL_SPACE];
    } control[CHUNK];
} scratch_block;

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    if (ns <= 0)
        return;
    struct timespec t = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    nanosleep(&t, NULL); /* a signal cutting it short only shortens the gather */
}

/* 1 when fd is readable within ns (poll counts in milliseconds: rounded up, as Python's
 * poll does), 0 when not, -1 with errno set when poll failed. */
static int wait_readable(int fd, int64_t ns) {
    struct pollfd entry = {.fd = fd, .events = POLLIN, .revents = 0};
    int64_t ms = ns <= 0 ? 0 : (ns + 999999) / 1000000;
    int ready = poll(&entry, 1, ms > 0x7fffffff ? 0x7fffffff : (int)ms);
    return ready < 0 ? -1 : ready > 0;
}

static void prepare(scratch_block *scratch, unsigned count) {
    for (unsigned i = 0; i < count; i++) {
        scratch->vectors[i].iov_base = scratch->records[i];
        scratch->vectors[i].iov_len = GW_CANFD_MTU;
        struct msghdr *header = &scratch->headers[i].msg_hdr;
        memset(header, 0, sizeof *header);
        header->msg_iov = &scratch->vectors[i];
        header->msg_iovlen = 1;
        header->msg_control = scratch->control[i].bytes;
        header->msg_controllen = CONTROL_SPACE; /* the kernel shrinks it to what it wrote */
        scratch->headers[i].msg_len = 0;
    }
}

/* Converts `got` received messages into rows; returns 1 if every one was empty (a closed
 * peer), 0 otherwise. */
static int convert(const scratch_block *scratch, unsigned got, const gw_can_columns *out, gw_can_receipt *receipt) {
    unsigned empty = 0;
    for (unsigned i = 0; i < got; i++) {
        const struct mmsghdr *message = &scratch->headers[i];
        size_t size = message->msg_len;
        empty += size == 0;
        double stamp = NAN;
        gw_can_ancillary(scratch->control[i].bytes, message->msg_hdr.msg_controllen, &stamp, &receipt->kernel_drops);
        if (gw_can_record_to_row(scratch->records[i], size, stamp, out, receipt->frames)) {
            receipt->unstamped += isnan(stamp) != 0;
            receipt->frames++;
        }
    }
    return got > 0 && empty == got;
}

/* Takes what the socket holds (up to the rows left); returns 0 to go on waiting, 1 when the
 * call is over (the peer closed, or a failure recorded in the receipt). */
static int drain(int fd, scratch_block *scratch, const gw_can_columns *out, int64_t limit, gw_can_receipt *receipt) {
    while (receipt->frames < limit) {
        int64_t room = limit - receipt->frames;
        unsigned count = room < CHUNK ? (unsigned)room : CHUNK;
        prepare(scratch, count);
        int got = recvmmsg(fd, scratch->headers, count, MSG_DONTWAIT, NULL);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            receipt->error = errno;
            return 1;
        }
        if (convert(scratch, (unsigned)got, out, receipt)) {
            receipt->closed = 1;
            return 1;
        }
        if ((unsigned)got < count)
            return 0; /* the queue is empty: no need for a call that says so */
    }
    return 0;
}

int64_t gw_can_receive(int fd, const gw_can_columns *out, int64_t limit, int64_t timeout_ns, int64_t gather_ns,
                       gw_can_receipt *receipt) {
    memset(receipt, 0, sizeof *receipt);
    receipt->kernel_drops = -1;
    scratch_block scratch;
    int64_t deadline = now_ns() + (timeout_ns > 0 ? timeout_ns : 0);
    while (receipt->frames < limit) {
        int ready = wait_readable(fd, deadline - now_ns());
        if (ready < 0 && errno != EINTR)
            receipt->error = errno;
        if (ready <= 0)
            break; /* the time is up, or a signal: the caller comes back */
        int64_t left = deadline - now_ns();
        sleep_ns(gather_ns < left ? gather_ns : left); /* frames trickle in: take dozens a call */
        if (drain(fd, &scratch, out, limit, receipt))
            break;
    }
    if (receipt->closed && receipt->frames == 0)
        sleep_ns(deadline - now_ns()); /* a bus gone quiet, not a busy loop */
    return receipt->frames;
}

#else /* not Linux: no recvmmsg; the caller keeps its one-call-per-frame path */

void gw_can_ancillary(const uint8_t *control, size_t length, double *stamp, int64_t *drops) {
    (void)control, (void)length, (void)stamp, (void)drops;
}

int gw_can_receive_supported(void) { return 0; }

int64_t gw_can_receive(int fd, const gw_can_columns *out, int64_t limit, int64_t timeout_ns, int64_t gather_ns,
                       gw_can_receipt *receipt) {
    (void)fd, (void)out, (void)limit, (void)timeout_ns, (void)gather_ns;
    memset(receipt, 0, sizeof *receipt);
    receipt->kernel_drops = -1;
    receipt->error = ENOSYS;
    return 0;
}
#endif
