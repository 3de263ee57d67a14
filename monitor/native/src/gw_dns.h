/* DNS message reader: the C twin of monitor/net/app/dns.py parse_message (questions, answer
 * records, their text rdata), same bounds (MAX_POINTERS per name, 255 octets per name), same
 * errors. Writes into caller-provided arrays; says GW_DNS_FULL when they cannot hold a message
 * (the caller then reads that one in Python). */
#ifndef GW_DNS_H
#define GW_DNS_H
#include "gw_common.h"

enum {
    GW_DNS_OK = 0,
    GW_DNS_SHORT = 1,           /* shorter than the 12-byte header */
    GW_DNS_QUESTION_PAST = 2,   /* question runs past the end of the message */
    GW_DNS_HEADER_PAST = 3,     /* answer record header runs past the end of the message */
    GW_DNS_RDATA_PAST = 4,      /* answer rdata runs past the end of the message */
    GW_DNS_NAME_PAST = 5,       /* name runs past the end of the message */
    GW_DNS_POINTER_CUT = 6,     /* compression pointer cut off */
    GW_DNS_POINTER_PAST = 7,    /* compression pointer points past the end of the message */
    GW_DNS_POINTER_LOOP = 8,    /* more than MAX_POINTERS compression pointers in one name */
    GW_DNS_LABEL_TYPE_1 = 9,    /* label type 1 is not supported */
    GW_DNS_LABEL_TYPE_2 = 10,   /* label type 2 is not supported */
    GW_DNS_LABEL_PAST = 11,     /* label runs past the end of the message */
    GW_DNS_NAME_TOO_LONG = 12,  /* (internal) name over 255 octets */
    GW_DNS_FULL = 13            /* the output arrays are too small for this message */
};

#define GW_DNS_MAX_POINTERS 128
#define GW_DNS_MAX_NAME 255

/* How a record's rdata reads as text (dns.py _rdata_text). */
enum { GW_RDATA_NONE = 0, GW_RDATA_TEXT = 1, GW_RDATA_STRINGS = 2 };

typedef struct {
    int32_t name_off, name_len; /* the dotted name in text (raw label bytes) */
    uint32_t type;              /* QTYPE or TYPE */
    uint32_t klass_or_ttl;      /* QCLASS for a question, TTL for an answer */
    int32_t rdata_kind;         /* GW_RDATA_*: TEXT is [rdata_off, +rdata_len) of text,
                                   STRINGS is parts [rdata_off, +rdata_len) */
    int32_t rdata_off, rdata_len;
} gw_dns_item;

typedef struct {
    uint16_t id;
    uint8_t is_response, rcode;
    int32_t questions, answers; /* items: questions first, then answers */
    int32_t malformed;          /* questions/answers skipped: name over 255 octets */
} gw_dns_message;

/* parts: (offset, length) pairs into data for TXT character-strings, parts_cap pairs. */
int gw_dns_parse(const uint8_t *data, size_t n, gw_dns_message *msg, gw_dns_item *items, size_t items_cap,
                 uint8_t *text, size_t text_cap, int32_t *parts, size_t parts_cap);
#endif
