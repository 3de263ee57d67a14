/* gw_can_decode alone: a hand-made plan (one plain message, one multiplexed), frames of each
 * kind of outcome, and plans whose references are out of range. */
#include <math.h>
#include <string.h>

#include "gw_can_decode.h"
#include "gw_test.h"

/* message 0 (id 0x100, 2 bytes): A = bits 0..7 LE unsigned, B = bits 8..15 LE signed, B * 0.1 - 0.3.
 * message 1 (id 0x200, 8 bytes): MUX = byte 0 (root), branch 1 -> C (BE 16 bits at byte 1),
 * branch 7 -> D (float32 LE at byte 4). */
static const int64_t MESSAGES[2 * GW_CAN_MSG_COLS] = {0, 2, 1, 2, 0, 1, 8, 1, 3, 0};
static const int64_t NODES[4 * GW_CAN_NODE_COLS] = {
    1, 0, 2, 0, 0, /* message 0 root */
    1, 2, 1, 0, 1, /* message 1 root: MUX, one mux */
    1, 3, 1, 1, 0, /* branch 1: C */
    1, 4, 1, 1, 0, /* branch 7: D */
};
static const int64_t SIGNALS[5 * GW_CAN_SIG_COLS] = {
    /* length kind le window shift spill mode col rawcol scale_i offset_i */
    8, GW_CAN_KIND_U, 1, 0, 0, 0, GW_CAN_MODE_IDENTITY, 0, -1, 0, 0,
    8, GW_CAN_KIND_S, 1, 0, 8, 0, GW_CAN_MODE_FLOAT, 1, -1, 0, 0,
    8, GW_CAN_KIND_U, 1, 0, 0, 0, GW_CAN_MODE_IDENTITY, 0, -1, 0, 0,
    16, GW_CAN_KIND_U, 0, 0, 8, 0, GW_CAN_MODE_INT, 1, -1, 3, -2,
    32, GW_CAN_KIND_F, 1, 0, 32, 0, GW_CAN_MODE_IDENTITY, 2, -1, 0, 0,
};
static const double SCALES[5 * 2] = {0, 0, 0.1, -0.3, 0, 0, 0, 0, 0, 0};
static const int64_t MUXES[1 * GW_CAN_MUX_COLS] = {2, 0, 2};
static const int64_t CHILDREN[2 * GW_CAN_CHILD_COLS] = {1, 2, 7, 3};
static const uint64_t KEYS[2] = {0x100, 0x200};

static gw_can_plan make_plan(int32_t *standard) {
    for (int k = 0; k < 2048; k++) standard[k] = 2;
    standard[0x100] = 0;
    standard[0x200] = 1;
    gw_can_plan plan = {2, MESSAGES, NODES, SIGNALS, SCALES, MUXES, CHILDREN, 4, 5, 1, 2,
                        standard, KEYS, 2, NULL, NULL, 0};
    return plan;
}

static uint64_t bits_of(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

int main(void) {
    int32_t standard[2048];
    gw_can_plan plan = make_plan(standard);
    CHECK(gw_can_check_plan(&plan));

    enum { N = 6 };
    uint32_t ids[N] = {0x100, 0x200, 0x200, 0x200, 0x100, 0x300};
    uint8_t ext[N] = {0}, rtr[N] = {0, 0, 0, 0, 0, 0}, err[N] = {0};
    uint8_t dlc[N] = {2, 8, 8, 8, 1, 8};
    uint8_t data[N * 64];
    memset(data, 0, sizeof data);
    data[0] = 200, data[1] = 3;                      /* A = 200, B = 3 */
    data[64] = 1, data[65] = 0x12, data[66] = 0x34;  /* branch 1: C = 0x1234 * 3 - 2 */
    float f = 1.5f;
    data[128] = 7;
    memcpy(data + 128 + 4, &f, 4); /* little-endian hosts; checked below only by value */
    data[192] = 9;                 /* no branch 9 */
    gw_can_frames frames = {ids, ext, rtr, err, dlc, data, N};

    int32_t index[N];
    int64_t count[3];
    gw_can_group(&plan, &frames, index, count);
    CHECK_EQ(count[0], 2);
    CHECK_EQ(count[1], 3);
    CHECK_EQ(count[2], 1);

    int64_t rows0[2], rows1[3], rows2[1];
    uint64_t words0[2], words1[3], words2[1];
    uint8_t error0[2], error1[3];
    int64_t arg0[2], arg1[3];
    int32_t mux0[2], mux1[3];
    uint64_t values0[2 * 2], values1[3 * 3], raw[1];
    uint8_t present0[2 * 2], present1[3 * 3];
    gw_can_group_out groups[3] = {
        {rows0, words0, error0, arg0, mux0, values0, present0, raw},
        {rows1, words1, error1, arg1, mux1, values1, present1, raw},
        {rows2, words2, NULL, NULL, NULL, NULL, NULL, NULL},
    };
    int64_t signal_count[5] = {0}, node_count[4] = {0}, error_count[2], cursor[3], positions[3], slot[3];
    gw_can_out out = {groups, signal_count, node_count, error_count, cursor, positions, slot};
    CHECK_EQ(gw_can_decode(&plan, &frames, index, count, &out), 0);

    CHECK_EQ(rows0[0], 0);
    CHECK_EQ(rows0[1], 4);
    CHECK_EQ(values0[0], 200);
    /* 3 * 0.1 - 0.3 rounded twice, as numpy does (a fused multiply-add would give 2.8e-17) */
    volatile double product = 3.0 * 0.1;
    double expected = product + -0.3;
    CHECK(values0[2] == bits_of(expected));
    CHECK(expected > 5e-17);
    CHECK_EQ(error0[0], GW_CAN_OK);
    CHECK_EQ(error0[1], GW_CAN_E_SIZE);
    CHECK_EQ(arg0[1], 1);
    CHECK_EQ(values0[1], 0);
    CHECK_EQ(error_count[0], 1);

    CHECK_EQ(rows2[0], 5);
    CHECK_EQ(error1[0], GW_CAN_OK);
    CHECK_EQ((int64_t)values1[3 + 0], 0x1234 * 3 - 2);
    CHECK_EQ(present1[3 + 0], 1);
    CHECK_EQ(present1[6 + 0], 0);
    CHECK_EQ(error1[1], GW_CAN_OK);
    double d;
    memcpy(&d, &values1[6 + 1], sizeof d);
    if (data[128 + 4] == 0) CHECK(fabs(d - 1.5) < 1e-12); /* little-endian float bytes */
    CHECK_EQ(error1[2], GW_CAN_E_MUX);
    CHECK_EQ(arg1[2], 9);
    CHECK_EQ(mux1[2], 0);
    CHECK_EQ(present1[3 + 2], 0);
    CHECK_EQ(error_count[1], 1);
    CHECK_EQ(node_count[2], 1);
    CHECK_EQ(node_count[3], 1);

    /* the counts must agree with the index */
    count[0] = 1;
    CHECK_EQ(gw_can_decode(&plan, &frames, index, count, &out), -1);
    count[0] = 2;

    /* out-of-range references and bad geometry are refused before any decoding */
    int64_t bad_signals[5 * GW_CAN_SIG_COLS];
    memcpy(bad_signals, SIGNALS, sizeof bad_signals);
    bad_signals[GW_CAN_SIG_COL] = 5; /* column past the message's two */
    plan.signals = bad_signals;
    CHECK(!gw_can_check_plan(&plan));
    CHECK_EQ(gw_can_decode(&plan, &frames, index, count, &out), -2);
    memcpy(bad_signals, SIGNALS, sizeof bad_signals);
    bad_signals[3 * GW_CAN_SIG_COLS + GW_CAN_SIG_SHIFT] = 60; /* big endian 16 bits from bit 60 */
    CHECK(!gw_can_check_plan(&plan));
    plan.signals = SIGNALS;
    int64_t bad_children[2 * GW_CAN_CHILD_COLS] = {7, 2, 1, 3}; /* not sorted by id */
    plan.children = bad_children;
    CHECK(!gw_can_check_plan(&plan));
    plan.children = CHILDREN;
    standard[5] = 99;
    CHECK(!gw_can_check_plan(&plan));
    standard[5] = 2;

    /* half precision: one, the smallest subnormal, infinity, a signalling NaN kept as it is */
    CHECK(gw_can_half_to_double_bits(0x3C00) == bits_of(1.0));
    CHECK(gw_can_half_to_double_bits(0x0001) == 0x3E70000000000000ull);
    CHECK(gw_can_half_to_double_bits(0xFC00) == 0xFFF0000000000000ull);
    CHECK(gw_can_half_to_double_bits(0x7C01) == 0x7FF0040000000000ull);
    return GW_TEST_END();
}
