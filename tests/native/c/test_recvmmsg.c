/* The SocketCAN receive loop: record conversion, the ancillary-data parser, and (Linux) the
 * loop itself over a SOCK_SEQPACKET socket pair, which keeps record boundaries as AF_CAN does
 * (vcan needs a kernel module test machines rarely have). */
#include <math.h>
#include <string.h>

#include "gw_recvmmsg.h"
#include "gw_test.h"

#ifdef __linux__
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#endif

enum { ROWS = 300 };

static double timestamp[ROWS];
static uint32_t arbitration_id[ROWS];
static uint8_t extended[ROWS], remote[ROWS], error[ROWS], fd[ROWS], brs[ROWS], esi[ROWS], dlc[ROWS];
static uint8_t data[ROWS * GW_CAN_MAX_DATA];
static const gw_can_columns COLUMNS = {timestamp, arbitration_id, extended, remote, error, fd, brs, esi, dlc, data};

/* A kernel record: can_id in host order, length, flags, then the data (0xee fills the rest). */
static size_t record(uint8_t *out, uint32_t can_id, uint8_t length, uint8_t flags, int is_fd) {
    size_t size = is_fd ? GW_CANFD_MTU : GW_CAN_MTU;
    memset(out, 0xee, GW_CANFD_MTU);
    memcpy(out, &can_id, 4);
    out[4] = length, out[5] = flags, out[6] = out[7] = 0;
    for (unsigned i = 0; i < length && 8 + i < size; i++)
        out[8 + i] = (uint8_t)(i + 1);
    return size;
}

static void test_records_become_columns(void) {
    uint8_t buffer[GW_CANFD_MTU];
    size_t size = record(buffer, 0x123, 3, 0, 0);
    CHECK_EQ(gw_can_record_to_row(buffer, size, 1.5, &COLUMNS, 0), 1);
    CHECK_EQ(arbitration_id[0], 0x123);
    CHECK_EQ(dlc[0], 3);
    CHECK(data[0] == 1 && data[2] == 3 && data[3] == 0 && data[63] == 0); /* zero past the length */
    CHECK(timestamp[0] == 1.5 && !extended[0] && !remote[0] && !fd[0]);

    size = record(buffer, 0x1ABCDE | 0x80000000u, 8, 0xff, 0); /* classic: flags ignored */
    CHECK_EQ(gw_can_record_to_row(buffer, size, 0, &COLUMNS, 1), 1);
    CHECK(arbitration_id[1] == 0x1ABCDE && extended[1] && !brs[1] && !esi[1]);

    size = record(buffer, 0x456 | 0x40000000u, 4, 0, 0); /* remote: no data, dlc requested */
    CHECK_EQ(gw_can_record_to_row(buffer, size, 0, &COLUMNS, 2), 1);
    CHECK(remote[2] && dlc[2] == 4 && data[2 * 64] == 0);

    size = record(buffer, 0xFFFF | 0x20000000u, 200, 0, 0); /* error class bits kept; length capped at 8 */
    CHECK_EQ(gw_can_record_to_row(buffer, size, 0, &COLUMNS, 3), 1);
    CHECK(error[3] && arbitration_id[3] == 0xFFFF && dlc[3] == 8 && data[3 * 64 + 8] == 0);

    size = record(buffer, 0x7FF | 0x40000000u, 64, 3, 1); /* FD: RTR ignored, flags kept */
    CHECK_EQ(gw_can_record_to_row(buffer, size, 0, &COLUMNS, 4), 1);
    CHECK(fd[4] && !remote[4] && brs[4] && esi[4] && dlc[4] == 64 && data[4 * 64 + 63] == 64);

    size = record(buffer, 0x10, 255, 0, 1); /* FD length capped at 64 */
    CHECK_EQ(gw_can_record_to_row(buffer, size, 0, &COLUMNS, 5), 1);
    CHECK_EQ(dlc[5], 64);

    CHECK_EQ(gw_can_record_to_row(buffer, 15, 0, &COLUMNS, 6), 0); /* not a CAN record */
    CHECK_EQ(gw_can_record_to_row(buffer, 0, 0, &COLUMNS, 6), 0);
    CHECK_EQ(gw_can_record_to_row(buffer, 17, 0, &COLUMNS, 6), 0);
}

static void test_seconds_round_as_numpy_does(void) {
    CHECK(gw_can_seconds(1700000000, 123456789) == 1700000000.0 + (double)123456789 * 1e-9);
    CHECK(gw_can_seconds(0, 0) == 0.0);
    CHECK(gw_can_seconds(-1, 999999999) < 0.0);
}

#ifdef __linux__
static void test_ancillary_data(void) {
    union {
        struct cmsghdr align;
        uint8_t bytes[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(4)];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr header = {.msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    struct cmsghdr *first = CMSG_FIRSTHDR(&header);
    first->cmsg_level = SOL_SOCKET, first->cmsg_type = 35, first->cmsg_len = CMSG_LEN(sizeof(struct timespec));
    struct timespec spec = {.tv_sec = 12, .tv_nsec = 500000000};
    memcpy(CMSG_DATA(first), &spec, sizeof spec);
    struct cmsghdr *second = CMSG_NXTHDR(&header, first);
    CHECK(second != NULL);
    second->cmsg_level = SOL_SOCKET, second->cmsg_type = 40, second->cmsg_len = CMSG_LEN(4);
    uint32_t drops = 77;
    memcpy(CMSG_DATA(second), &drops, 4);
    double stamp = NAN;
    int64_t dropped = -1;
    gw_can_ancillary(control.bytes, sizeof control.bytes, &stamp, &dropped);
    CHECK(stamp == 12.5);
    CHECK_EQ(dropped, 77);

    stamp = NAN, dropped = -1; /* truncated: the second message is cut off, the first still read */
    gw_can_ancillary(control.bytes, CMSG_SPACE(sizeof(struct timespec)), &stamp, &dropped);
    CHECK(stamp == 12.5);
    CHECK_EQ(dropped, -1);
    stamp = NAN; /* shorter than a header: nothing read */
    gw_can_ancillary(control.bytes, 4, &stamp, &dropped);
    CHECK(isnan(stamp));
    first->cmsg_len = CMSG_LEN(4); /* a timestamp too short to be one */
    gw_can_ancillary(control.bytes, sizeof control.bytes, &stamp, &dropped);
    CHECK(isnan(stamp));
    first->cmsg_len = 1 << 20; /* a length past the buffer: CMSG_NXTHDR stops */
    gw_can_ancillary(control.bytes, sizeof control.bytes, &stamp, &dropped);
}

static void test_receive_over_a_socket_pair(void) {
    int pair[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair), 0);
    int on = 1;
    setsockopt(pair[0], SOL_SOCKET, 35 /* SO_TIMESTAMPNS */, &on, sizeof on);
    gw_can_receipt receipt;
    CHECK_EQ(gw_can_receive(pair[0], &COLUMNS, ROWS, 1000000, 0, &receipt), 0); /* 1 ms, nothing there */
    CHECK_EQ(receipt.error, 0);
    CHECK_EQ(receipt.closed, 0);
    uint8_t buffer[GW_CANFD_MTU];
    for (unsigned k = 0; k < 150; k++) {
        size_t size = record(buffer, 0x100 + k, k % 9, 0, k % 3 == 0);
        CHECK_EQ(send(pair[1], buffer, size, 0), (long)size);
        if (k % 50 == 0)
            CHECK_EQ(send(pair[1], buffer, 5, 0), 5L); /* not a CAN record: skipped */
    }
    CHECK_EQ(gw_can_receive(pair[0], &COLUMNS, 100, 1000000000, 0, &receipt), 100); /* up to the limit */
    CHECK_EQ(arbitration_id[0], 0x100);
    CHECK_EQ(arbitration_id[99], 0x100 + 99);
    CHECK(fd[0] && !fd[1] && dlc[1] == 1 && data[64] == 1);
    CHECK(receipt.unstamped == 0 || receipt.unstamped == 100); /* stamped by the kernel, or by none (emulators) */
    if (receipt.unstamped == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        CHECK(fabs(timestamp[0] - (double)now.tv_sec) < 60.0 && timestamp[99] >= timestamp[0]);
    }
    close(pair[1]);
    CHECK_EQ(gw_can_receive(pair[0], &COLUMNS, ROWS, 1000000000, 1000, &receipt), 50); /* the rest, then the close */
    CHECK_EQ(arbitration_id[49], 0x100 + 149);
    CHECK_EQ(receipt.closed, 1);
    CHECK_EQ(gw_can_receive(pair[0], &COLUMNS, ROWS, 1000000, 0, &receipt), 0); /* closed: waits, returns none */
    CHECK_EQ(receipt.closed, 1);
    close(pair[0]);
    CHECK_EQ(gw_can_receive(pair[0], &COLUMNS, ROWS, 1000000, 0, &receipt), 0); /* a closed descriptor: an error */
    CHECK(receipt.error != 0);
    CHECK_EQ(gw_can_receive_supported(), 1);
}
#endif

int main(void) {
    test_records_become_columns();
    test_seconds_round_as_numpy_does();
#ifdef __linux__
    test_ancillary_data();
    test_receive_over_a_socket_pair();
#endif
    return GW_TEST_END();
}
