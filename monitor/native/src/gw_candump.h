/* candump -L text: line bounds and the lines that follow the file's first-line layout (the
 * "template": timestamp digit counts, channel name, 3- or 8-digit id, up to 8 data bytes),
 * as monitor/canbus/candump.py parses them with numpy. Lines off the template are left to
 * the general parser (candump_fields.py). Plain C, no Python API. */
#ifndef GW_CANDUMP_H
#define GW_CANDUMP_H
#include <stdint.h>

/* Lines of buf[begin, limit): each ends at a '\n' (a text not ending in one has it appended by
 * the caller). Leading and trailing blanks (NUL, tab, CR, space) are stripped, at most 8 on each
 * side, as the reference does. Writes the kept (non-blank) lines' bounds and their index among
 * all lines, at most cap of them; returns the number of lines (kept or not), or -1 if there are
 * more than cap lines or the bounds are not inside buf. */
int64_t gw_candump_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit, int64_t *starts,
                         int64_t *ends, int64_t *line_index, int64_t *kept, int64_t cap);

/* The number of '\n' in buf[begin, limit), or -1 if the bounds are not inside buf. */
int64_t gw_candump_count_lines(const uint8_t *buf, int64_t buf_len, int64_t begin, int64_t limit);

typedef struct {
    int int_digits;    /* a: 1..10 */
    int frac_digits;   /* f: 1..9 */
    const uint8_t *channel;
    int channel_len;   /* 1..8 */
} gw_candump_template;

/* Output columns, one entry per kept line (only template lines are written). */
typedef struct {
    double *timestamp;
    uint32_t *arbitration_id;
    uint8_t *is_extended;
    uint8_t *is_error;
    uint8_t *dlc;
    uint8_t *data;      /* rows of 64 bytes; the first 8 written */
    uint8_t *template_line; /* 1 where the line follows the template and all its fields are valid */
} gw_candump_columns;

/* Parse the n kept lines that follow the template; returns how many did, or -1 if the template
 * is malformed or a line's bounds are not inside buf. */
int64_t gw_candump_template_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts, const int64_t *ends,
                                  int64_t n, const gw_candump_template *tpl, gw_candump_columns *out);
/* The general parser's reasons, numbered as candump_fields.REASONS. */
enum {
    GW_CANDUMP_OK, GW_CANDUMP_E_OPEN, GW_CANDUMP_E_TS, GW_CANDUMP_E_CHANNEL, GW_CANDUMP_E_HASH, GW_CANDUMP_E_ID,
    GW_CANDUMP_E_FD, GW_CANDUMP_E_RTR, GW_CANDUMP_E_ODD, GW_CANDUMP_E_LEN, GW_CANDUMP_E_HEX, GW_CANDUMP_E_TAIL
};

/* The general parser's output, one entry per line: values (meaningful where error is 0), the
 * channel name's bounds and whether the line was located (where error may still be nonzero),
 * and lines whose timestamp the caller must parse with Python's float() (slow_timestamp). */
typedef struct {
    double *timestamp;
    uint32_t *arbitration_id;
    uint8_t *is_extended, *is_remote, *is_error, *is_fd, *bitrate_switch, *error_state_indicator, *is_rx;
    uint8_t *dlc;
    uint8_t *data; /* rows of 64 bytes, zeroed by the caller */
    uint8_t *error;
    uint8_t *located;
    uint8_t *slow_timestamp;
    int64_t *ch_start, *ch_end;
} gw_candump_general;

/* Parse n lines in any layout, as candump_fields.LineFields; returns the lines without error,
 * or -1 if a line's bounds are not inside buf (with 2 bytes to spare after each line). */
int64_t gw_candump_general_lines(const uint8_t *buf, int64_t buf_len, const int64_t *starts, const int64_t *ends,
                                 int64_t n, gw_candump_general *out);
#endif
