/* Community ID v1 (see gw_communityid.h): SHA-1 and base64 written from their specifications. */
#include "gw_communityid.h"

#include <string.h>

static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void sha1_block(uint32_t h[5], const uint8_t block[64]) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = be32(block + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rotl(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rotl(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void gw_sha1(const uint8_t *data, size_t len, uint8_t digest[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t full = len / 64 * 64;
    for (size_t at = 0; at < full; at += 64)
        sha1_block(h, data + at);
    uint8_t tail[128] = {0};
    size_t rest = len - full;
    memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t at = 0; at < tail_len; at += 64)
        sha1_block(h, tail + at);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            digest[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

size_t gw_base64(const uint8_t *data, size_t len, char *out) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            group |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            group |= data[i + 2];
        out[n++] = alphabet[(group >> 18) & 63];
        out[n++] = alphabet[(group >> 12) & 63];
        out[n++] = i + 1 < len ? alphabet[(group >> 6) & 63] : '=';
        out[n++] = i + 2 < len ? alphabet[group & 63] : '=';
    }
    return n;
}

static size_t put_be(uint8_t *out, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; i++)
        out[i] = (uint8_t)(value >> (8 * (bytes - 1 - i)));
    return (size_t)bytes;
}

/* Protocols whose ports (ICMP: type and code) are hashed (community_id.PORT_PROTOCOLS). */
static int has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58; }

int gw_community_id(uint16_t seed, uint8_t version, uint8_t proto, uint64_t a_hi, uint64_t a_lo, uint64_t b_hi,
                    uint64_t b_lo, uint16_t a_port, uint16_t b_port, char *out) {
    if (version != 4 && version != 6)
        return -1;
    uint8_t data[2 + 32 + 2 + 4];
    size_t n = put_be(data, seed, 2);
    if (version == 4) {
        n += put_be(data + n, (uint32_t)a_lo, 4);
        n += put_be(data + n, (uint32_t)b_lo, 4);
    } else {
        n += put_be(data + n, a_hi, 8);
        n += put_be(data + n, a_lo, 8);
        n += put_be(data + n, b_hi, 8);
        n += put_be(data + n, b_lo, 8);
    }
    data[n++] = proto;
    data[n++] = 0;
    if (has_ports(proto)) {
        n += put_be(data + n, a_port, 2);
        n += put_be(data + n, b_port, 2);
    }
    uint8_t digest[20];
    gw_sha1(data, n, digest);
    memcpy(out, "\"1:", 3);
    gw_base64(digest, 20, out + 3);
    out[GW_COMMUNITY_QUOTED - 1] = '"';
    return 0;
}
