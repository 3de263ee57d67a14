/* Vector ASC text to frame columns: the CAN and CAN FD frame lines python-can's ASCReader reads,
 * the lines it skips skipped the same way, and every line whose reading this kernel cannot
 * vouch for handed back to the caller (which reads it with python-can itself). */
#ifndef GW_ASC_H
#define GW_ASC_H
#include "gw_canlog.h"

enum {
    GW_ASC_MORE = 0,   /* the rest of buf is an unfinished line: read more, call again at *pos */
    GW_ASC_FULL = 1,   /* the columns are full; *pos is the next line */
    GW_ASC_LINE = 2,   /* the line [*pos, *line_end) is the caller's; the next starts at *next */
    GW_ASC_DONE = 3,   /* at_eof and every line read */
};

typedef struct {
    int base;              /* 16 or 10: ids, DLCs and data bytes (the header's "base") */
    double start_time;     /* added to every timestamp (the header's or the trigger block's date) */
    size_t max_line;       /* longer lines (in characters, with their newline) go to the caller */
} gw_asc_options;

/* Reads the lines of buf[*pos, len) into f until one of the statuses above. *lines counts the
 * lines read (the caller's line is counted). at_eof: buf ends the file, its last line may lack
 * a newline. Newlines are "\n", "\r\n" and "\r", as Python's text mode reads them. */
int gw_asc_parse(const uint8_t *buf, size_t len, int at_eof, const gw_asc_options *options,
                 gw_frames *f, size_t *pos, size_t *line_end, size_t *next, uint64_t *lines);
#endif
