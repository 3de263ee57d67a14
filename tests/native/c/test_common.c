/* The byte-order helpers every kernel reads with, and the ABI version. */
#include "gw_common.h"
#include "gw_test.h"
#include "gw_version.h"

int main(void) {
    const uint8_t bytes[8] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
    CHECK_EQ(gw_be16(bytes), 0x1234);
    CHECK_EQ(gw_le16(bytes), 0x3412);
    CHECK_EQ(gw_be32(bytes), 0x12345678u);
    CHECK_EQ(gw_le32(bytes), 0x78563412u);
    CHECK(gw_le64(bytes) == 0xf0debc9a78563412ull);
    CHECK_EQ(gw_abi_version(), GW_ABI_VERSION);
    return GW_TEST_END();
}
