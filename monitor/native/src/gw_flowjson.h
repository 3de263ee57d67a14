/* Finished-flow records as JSON lines, written from columns: byte for byte what flowjson.py
 * (json.dumps of each record) writes. Python keeps what only it knows (Community IDs, names,
 * application, tunnel path, the country suffix) and hands it in as prepared, already encoded
 * text columns; C writes the numbers, times, addresses and the frame of the line. */
#ifndef GW_FLOWJSON_H
#define GW_FLOWJSON_H
#include <stddef.h>
#include <stdint.h>

/* A column of encoded texts: row r's text is entry index[r] of a table, entry i being
 * blob[offsets[i] .. offsets[i + 1]). Rows sharing a value share an entry. */
typedef struct {
    const uint8_t *blob;
    int64_t blob_len;
    const int64_t *offsets; /* n_entries + 1 of them */
    int64_t n_entries;
    const int64_t *index; /* one per row */
} gw_text_column;

/* The oriented columns of n finishing flows (originator first), one value per row. */
typedef struct {
    int64_t n;
    const int64_t *first_ns, *last_ns, *flow_id;
    const uint8_t *proto, *version;
    const uint64_t *orig_hi, *orig_lo, *resp_hi, *resp_lo;
    const int64_t *orig_p, *resp_p;
    const uint32_t *vlan;
    const int64_t *orig_pkts, *orig_ip_bytes, *resp_pkts, *resp_ip_bytes, *orig_bytes, *resp_bytes;
    const uint8_t *flags_orig, *flags_resp;
    /* encoded JSON values: community_id, direction, app_proto, names; tail: ', "tunnel": ...'
     * or empty; suffix: text appended after the TCP flags (the country fields) */
    gw_text_column community, direction, app_proto, names, tunnel, suffix;
    const uint8_t *reason; /* the encoded reason, e.g. "\"idle_timeout\"" */
    int64_t reason_len;
} gw_flow_columns;

/* 0 if the column's offsets are ascending within its blob and every index names an entry. */
int gw_text_column_check(const gw_text_column *column, int64_t n_rows);

/* The most bytes gw_flowjson_write can need for these columns (-1 on overflow). */
int64_t gw_flowjson_bound(const gw_flow_columns *c);

/* Writes the n lines (newline included) to out; line_ends[r] is where row r's line ends.
 * Returns the bytes written, or -1 if out_cap is too small. Columns must have passed
 * gw_text_column_check. */
int64_t gw_flowjson_write(const gw_flow_columns *c, uint8_t *out, int64_t out_cap, int64_t *line_ends);

/* An address as inet_ntop writes it (version 4: the low 32 bits of lo). Returns its length
 * (at most GW_ADDRESS_MAX), out needs GW_ADDRESS_MAX bytes. */
#define GW_ADDRESS_MAX 46
int gw_format_address(uint8_t version, uint64_t hi, uint64_t lo, char *out);

/* A double as Python's repr writes it (shortest round-trip digits). Returns its length;
 * out needs GW_DOUBLE_MAX bytes. */
#define GW_DOUBLE_MAX 32
int gw_format_double(double value, char *out);
#endif
