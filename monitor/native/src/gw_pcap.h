/* The classic pcap record walk: record headers of one chunk of a file straight into the
 * PacketBatch columns (offset, caplen, wirelen, ts_ns). The caller (monitor/net/capture.py)
 * reads the file header, sizes the columns and handles a damaged record (its warning and the
 * search for the next plausible header stay in Python: rare, and their messages are its own). */
#ifndef GW_PCAP_H
#define GW_PCAP_H
#include <stdint.h>

/* Why a walk stopped. */
enum {
    GW_PCAP_NEED_MORE = 0, /* the next record (or its header) runs past the chunk: *stop is its start */
    GW_PCAP_DAMAGED = 1,   /* the record at *stop has a caplen above the limit */
    GW_PCAP_FULL = 2,      /* the columns are full: call again from *stop */
};

typedef struct {
    int big_endian;      /* the file's byte order (from its magic) */
    int64_t ns_per_tick; /* 1000 for microsecond files, 1 for nanosecond ones */
    uint32_t limit;      /* a caplen above this is damage: max(snaplen, MAX_RECORD) */
} gw_pcap_format;

typedef struct {
    int64_t *offset;  /* start of each packet in the chunk (past its 16-byte header) */
    int32_t *caplen;
    int32_t *wirelen; /* max(wire length, caplen) */
    int64_t *ts_ns;
    int64_t capacity; /* rows the four columns hold */
} gw_pcap_columns;

/* Walk records of buf[pos:len) into out from row 0; *rows is the count written, *stop the
 * position the walk stopped at. Returns a GW_PCAP_* reason. Reads stay inside buf[0:len). */
int gw_pcap_walk(const uint8_t *buf, int64_t len, int64_t pos, const gw_pcap_format *format,
                 gw_pcap_columns *out, int64_t *rows, int64_t *stop);

#endif
