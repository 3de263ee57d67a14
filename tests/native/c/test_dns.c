/* The DNS reader on hand-built messages: a query and a response with compression, rdata as
 * text, and the hostile cases (pointer loops, pointers past the end, cut labels, long names). */
#include <string.h>

#include "gw_dns.h"
#include "gw_test.h"

typedef struct {
    gw_dns_message msg;
    gw_dns_item items[16];
    uint8_t text[4096];
    int32_t parts[64];
} out_t;

static int parse(const uint8_t *d, size_t n, out_t *o) {
    return gw_dns_parse(d, n, &o->msg, o->items, 16, o->text, sizeof o->text, o->parts, 32);
}

static int text_is(out_t *o, int32_t off, int32_t len, const char *want) {
    return (size_t)len == strlen(want) && memcmp(o->text + off, want, (size_t)len) == 0;
}

static const uint8_t response[] = {
    0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
    3, 'w', 'w', 'w', 1, 'e', 0, 0, 1, 0, 1,                    /* www.e A IN */
    0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'c', 0xc0, 16,   /* CNAME c.e */
    0xc0, 35, 0, 28, 0, 1, 0, 0, 1, 0, 0, 16,                    /* c.e AAAA 2001:db8::1 */
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 5, 2, 'h', 'i', 9, 'x'  /* TXT "hi", cut "x" */
};

static void test_response(void) {
    out_t o;
    CHECK_EQ(parse(response, sizeof response, &o), GW_DNS_OK);
    CHECK_EQ(o.msg.id, 0x1234);
    CHECK_EQ(o.msg.is_response, 1);
    CHECK_EQ(o.msg.questions, 1);
    CHECK_EQ(o.msg.answers, 3);
    CHECK(text_is(&o, o.items[0].name_off, o.items[0].name_len, "www.e"));
    CHECK_EQ(o.items[1].klass_or_ttl, 60);
    CHECK_EQ(o.items[1].rdata_kind, GW_RDATA_TEXT);
    CHECK(text_is(&o, o.items[1].rdata_off, o.items[1].rdata_len, "c.e"));
    CHECK(text_is(&o, o.items[2].rdata_off, o.items[2].rdata_len, "2001:db8::1"));
    CHECK_EQ(o.items[3].rdata_kind, GW_RDATA_STRINGS);
    CHECK_EQ(o.items[3].rdata_len, 2);
    CHECK_EQ(o.parts[2 * o.items[3].rdata_off + 3], 1);
    for (size_t cut = 0; cut < sizeof response; cut++) CHECK(parse(response, cut, &o) != GW_DNS_OK);
    CHECK_EQ(gw_dns_parse(response, sizeof response, &o.msg, o.items, 2, o.text, sizeof o.text, o.parts, 32), GW_DNS_FULL);
}

static void test_hostile_names(void) {
    out_t o;
    uint8_t m[600] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    m[12] = 0xc0, m[13] = 12; /* a pointer to itself */
    CHECK_EQ(parse(m, 18, &o), GW_DNS_POINTER_LOOP);
    m[13] = 200;
    CHECK_EQ(parse(m, 18, &o), GW_DNS_POINTER_PAST);
    CHECK_EQ(parse(m, 13, &o), GW_DNS_POINTER_CUT);
    m[12] = 0x40;
    CHECK_EQ(parse(m, 18, &o), GW_DNS_LABEL_TYPE_1);
    m[12] = 0x80;
    CHECK_EQ(parse(m, 18, &o), GW_DNS_LABEL_TYPE_2);
    m[12] = 10;
    CHECK_EQ(parse(m, 18, &o), GW_DNS_LABEL_PAST);
    CHECK_EQ(parse(m, 11, &o), GW_DNS_SHORT);
    /* five 63-byte labels: over 255 octets, skipped and counted, the message goes on */
    size_t n = 12;
    for (int i = 0; i < 5; i++) {
        m[n++] = 63;
        memset(m + n, 'a', 63);
        n += 63;
    }
    m[n++] = 0;
    m[n++] = 0, m[n++] = 1, m[n++] = 0, m[n++] = 1;
    CHECK_EQ(parse(m, n, &o), GW_DNS_OK);
    CHECK_EQ(o.msg.malformed, 1);
    CHECK_EQ(o.msg.questions, 0);
    CHECK_EQ(parse(m, n - 1, &o), GW_DNS_QUESTION_PAST);
}

int main(void) {
    test_response();
    test_hostile_names();
    return GW_TEST_END();
}
