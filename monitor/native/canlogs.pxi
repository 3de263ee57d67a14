# canlogs kernels: Vector ASC lines (src/gw_asc.c) and BLF objects (src/gw_blf.c) into the
# columns of one FrameBatch, which CanlogsFrames holds between calls (monitor/canbus/ascfile.py,
# blffile.py drive them).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t

cdef extern from "gw_canlog.h" nogil:
    ctypedef struct gw_frames:
        double *timestamp
        uint16_t *channel
        uint32_t *arbitration_id
        uint8_t *is_extended
        uint8_t *is_remote
        uint8_t *is_error
        uint8_t *is_fd
        uint8_t *bitrate_switch
        uint8_t *esi
        uint8_t *is_rx
        uint8_t *dlc
        uint8_t *data
        size_t cap, n
        int64_t *chan_values
        size_t chan_cap, chan_n, chan_last

cdef extern from "gw_asc.h" nogil:
    ctypedef struct gw_asc_options:
        int base
        double start_time
        size_t max_line
    int gw_asc_parse(const uint8_t *buf, size_t len, int at_eof, const gw_asc_options *options,
                     gw_frames *f, size_t *pos, size_t *line_end, size_t *next, uint64_t *lines)

cdef extern from "gw_blf.h" nogil:
    int gw_blf_walk(const uint8_t *data, size_t len, double start, gw_frames *f, size_t *pos,
                    uint32_t *version, uint64_t *ticks, int *ten_us)
    int gw_blf_check(const uint8_t *data, size_t len, uint32_t max_size, size_t *pos, size_t *at, uint32_t *size)


cdef class CanlogsFrames:
    """One FrameBatch's columns (bool columns viewed as uint8) and the log's channel table
    (code -> channel number), filled in place by the readers. ``n`` rows are written."""

    cdef double[::1] timestamp
    cdef uint16_t[::1] channel
    cdef uint32_t[::1] arbitration_id
    cdef uint8_t[::1] is_extended, is_remote, is_error, is_fd, bitrate_switch, esi, is_rx, dlc
    cdef uint8_t[:, ::1] data
    cdef int64_t[::1] chan_values
    cdef public Py_ssize_t n, chan_n
    cdef size_t chan_last

    def __init__(self, timestamp, channel, arbitration_id, is_extended, is_remote, is_error, is_fd,
                 bitrate_switch, esi, is_rx, dlc, data, chan_values):
        self.timestamp, self.channel, self.arbitration_id = timestamp, channel, arbitration_id
        self.is_extended, self.is_remote, self.is_error, self.is_fd = is_extended, is_remote, is_error, is_fd
        self.bitrate_switch, self.esi, self.is_rx, self.dlc = bitrate_switch, esi, is_rx, dlc
        self.data, self.chan_values = data, chan_values
        cdef Py_ssize_t rows = self.timestamp.shape[0]
        cdef Py_ssize_t[10] lengths = [self.channel.shape[0], self.arbitration_id.shape[0],
            self.is_extended.shape[0], self.is_remote.shape[0], self.is_error.shape[0], self.is_fd.shape[0],
            self.bitrate_switch.shape[0], self.esi.shape[0], self.is_rx.shape[0], self.dlc.shape[0]]
        for length in lengths:
            if length != rows:
                raise ValueError("canlogs: every column needs as many rows as timestamp")
        if self.data.shape[0] != rows or self.data.shape[1] != 64:
            raise ValueError("canlogs: data must be rows x 64")
        if rows < 1 or self.chan_values.shape[0] < 1:
            raise ValueError("canlogs: no room for frames or channels")
        self.n = self.chan_n = 0
        self.chan_last = 0

    cdef gw_frames view(self) except *:
        if not (0 <= self.n <= self.timestamp.shape[0] and 0 <= self.chan_n <= self.chan_values.shape[0]):
            raise ValueError("canlogs: row or channel count out of range")
        cdef gw_frames f
        f.timestamp, f.channel, f.arbitration_id = &self.timestamp[0], &self.channel[0], &self.arbitration_id[0]
        f.is_extended, f.is_remote, f.is_error = &self.is_extended[0], &self.is_remote[0], &self.is_error[0]
        f.is_fd, f.bitrate_switch, f.esi = &self.is_fd[0], &self.bitrate_switch[0], &self.esi[0]
        f.is_rx, f.dlc, f.data = &self.is_rx[0], &self.dlc[0], &self.data[0, 0]
        f.cap, f.n = self.timestamp.shape[0], self.n
        f.chan_values, f.chan_cap, f.chan_n = &self.chan_values[0], self.chan_values.shape[0], self.chan_n
        f.chan_last = self.chan_last
        return f

    cdef void keep(self, gw_frames *f):
        self.n, self.chan_n, self.chan_last = f.n, f.chan_n, f.chan_last


def canlogs_asc_parse(CanlogsFrames frames not None, const uint8_t[::1] buf, Py_ssize_t pos, bint at_eof, int base,
                      double start_time, Py_ssize_t max_line, uint64_t lines):
    """ASC lines of buf from pos into frames: (status, pos, line_end, next, lines), the statuses
    of gw_asc.h (0 more, 1 full, 2 a line for the caller, 3 done)."""
    if base not in (10, 16) or max_line < 0 or not 0 <= pos <= buf.shape[0]:
        raise ValueError("canlogs: bad ASC reading options")
    cdef gw_frames f = frames.view()
    cdef gw_asc_options options
    options.base, options.start_time, options.max_line = base, start_time, max_line
    cdef size_t at = pos, line_end = 0, after = 0
    cdef uint64_t count = lines
    cdef int status
    cdef const uint8_t *data = &buf[0] if buf.shape[0] else NULL
    with nogil:
        status = gw_asc_parse(data, buf.shape[0], at_eof, &options, &f, &at, &line_end, &after, &count)
    frames.keep(&f)
    return status, at, line_end, after, count


def canlogs_blf_walk(CanlogsFrames frames not None, const uint8_t[::1] data, Py_ssize_t pos, double start):
    """BLF objects of data from pos into frames: (status, pos, version, ticks, ten_us), the
    statuses of gw_blf.h."""
    if not 0 <= pos <= data.shape[0]:
        raise ValueError("canlogs: BLF position out of range")
    cdef gw_frames f = frames.view()
    cdef size_t at = pos
    cdef uint32_t version = 0
    cdef uint64_t ticks = 0
    cdef int ten_us = 0, status
    cdef const uint8_t *bytes_ = &data[0] if data.shape[0] else NULL
    with nogil:
        status = gw_blf_walk(bytes_, data.shape[0], start, &f, &at, &version, &ticks, &ten_us)
    frames.keep(&f)
    return status, at, version, ticks, ten_us


def canlogs_blf_check(const uint8_t[::1] data, uint32_t max_size):
    """blfcheck's walk of one container's objects: (status, tail, at, size) per gw_blf.h."""
    cdef size_t tail = 0, at = 0
    cdef uint32_t size = 0
    cdef int status
    cdef const uint8_t *bytes_ = &data[0] if data.shape[0] else NULL
    with nogil:
        status = gw_blf_check(bytes_, data.shape[0], max_size, &tail, &at, &size)
    return status, tail, at, size
