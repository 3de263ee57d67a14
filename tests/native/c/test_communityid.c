/* gw_communityid alone: SHA-1 and base64 on known answers, and one Community ID. */
#include <string.h>

#include "gw_communityid.h"
#include "gw_test.h"

static int hex_is(const uint8_t *digest, const char *expected) {
    char text[41];
    for (int i = 0; i < 20; i++)
        snprintf(text + 2 * i, 3, "%02x", digest[i]);
    return strcmp(text, expected) == 0;
}

int main(void) {
    uint8_t digest[20];
    gw_sha1((const uint8_t *)"abc", 3, digest);
    CHECK(hex_is(digest, "a9993e364706816aba3e25717850c26c9cd0d89d"));
    gw_sha1((const uint8_t *)"", 0, digest);
    CHECK(hex_is(digest, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: the tail spills */
    gw_sha1((const uint8_t *)two_blocks, strlen(two_blocks), digest);
    CHECK(hex_is(digest, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    char b64[8];
    CHECK_EQ(gw_base64((const uint8_t *)"foob", 4, b64), 8);
    CHECK(memcmp(b64, "Zm9vYg==", 8) == 0);
    char id[GW_COMMUNITY_QUOTED + 1] = {0};
    CHECK_EQ(gw_community_id(0, 5, 6, 0, 1, 0, 2, 1, 2, id), -1);
    CHECK_EQ(gw_community_id(0, 4, 6, 0, 0x0A000002, 0, 0x08080808, 40000, 443, id), 0);
    CHECK(id[0] == '"' && id[1] == '1' && id[2] == ':' && id[30] == '=' && id[31] == '"');
    return GW_TEST_END();
}
