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
#endif
