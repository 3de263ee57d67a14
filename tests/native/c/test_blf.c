/* gw_blf: frame objects into columns, the search for "LOBJ", objects running on past the data,
 * bad sizes caught by the check, timestamps in 10 us and ns units. */
#include "canlog_test_frames.h"
#include "gw_blf.h"
#include "gw_test.h"

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A CAN_MESSAGE object (v1 header) at p: 48 bytes. */
static size_t can_message(uint8_t *p, uint32_t flags, uint64_t stamp, uint32_t id, uint8_t dlc) {
    memset(p, 0, 48);
    memcpy(p, "LOBJ", 4);
    p[4] = 32, p[6] = 1;
    put32(p + 8, 48), put32(p + 12, 1);
    put32(p + 16, flags);
    put32(p + 24, (uint32_t)stamp), put32(p + 28, (uint32_t)(stamp >> 32));
    p[32] = 2;  /* channel 2 */
    p[35] = dlc;
    put32(p + 36, id);
    for (int i = 0; i < 8; i++) p[40 + i] = (uint8_t)(0xA0 + i);
    return 48;
}

int main(void) {
    uint8_t data[256];
    test_frames t;
    size_t pos = 0, at = 0;
    uint32_t version = 0, size = 0;
    uint64_t ticks = 0;
    int ten_us = 0;
    test_frames_init(&t, 8);
    size_t n = can_message(data, 1, 150000, 0x80000123u, 3);
    n += 2; /* padding before the next object */
    n += can_message(data + n, 2, 2000000000ull, 0x7ff, 12);
    CHECK_EQ(gw_blf_walk(data, n, 10.0, &t.f, &pos, &version, &ticks, &ten_us), GW_BLF_TAIL);
    CHECK_EQ(pos, n);
    CHECK_EQ(t.f.n, 2);
    CHECK(t.ts[0] == 1.5 + 10.0);
    CHECK(t.ts[1] == 2.0 + 10.0);
    CHECK_EQ(t.id[0], 0x123);
    CHECK_EQ(t.ext[0], 1);
    CHECK_EQ(t.dlc[0], 3);
    CHECK_EQ(t.data[2], 0xA2);
    CHECK_EQ(t.data[3], 0);
    CHECK_EQ(t.dlc[1], 8); /* dlc 12 on a classic frame: the 8 bytes there are */
    CHECK_EQ(t.chans[0], 1);

    /* an object cut by the end of the data is the tail for the next container */
    test_frames_init(&t, 8);
    pos = 0;
    CHECK_EQ(gw_blf_walk(data, 60, 0.0, &t.f, &pos, &version, &ticks, &ten_us), GW_BLF_TAIL);
    CHECK_EQ(pos, 48);
    CHECK_EQ(t.f.n, 1);

    /* no "LOBJ" within 8 bytes where one must start */
    memset(data + 100, 'x', 40);
    pos = 100;
    CHECK_EQ(gw_blf_walk(data, 140, 0.0, &t.f, &pos, &version, &ticks, &ten_us), GW_BLF_LOST);

    /* the check: sizes outside [16, max], a header cut short */
    can_message(data, 1, 0, 1, 1);
    put32(data + 8, 0);
    CHECK_EQ(gw_blf_check(data, 48, 1 << 20, &pos, &at, &size), GW_BLF_CHECK_SIZE);
    CHECK_EQ(size, 0);
    put32(data + 8, 48);
    CHECK_EQ(gw_blf_check(data, 48, 1 << 20, &pos, &at, &size), GW_BLF_CHECK_OK);
    CHECK_EQ(pos, 48);
    CHECK_EQ(gw_blf_check(data, 20, 1 << 20, &pos, &at, &size), GW_BLF_CHECK_OK);
    CHECK_EQ(pos, 0);
    return GW_TEST_END();
}
