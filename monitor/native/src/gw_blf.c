/* BLF's inner objects, walked the way python-can 4.6's BLFReader._parse_data walks them (the
 * search for "LOBJ" within 8 bytes, the object that runs on into the next container, a struct
 * too short for the data ending the container), every field read little-endian byte by byte. */
#include "gw_blf.h"

enum {
    CAN_MESSAGE = 1, CAN_ERROR_EXT = 73, CAN_MESSAGE2 = 86, CAN_FD_MESSAGE = 100, CAN_FD_MESSAGE_64 = 101,
    BASE_HEADER = 16, V1_HEADER = 16, V2_HEADER = 24,
    CAN_MSG_SIZE = 16, CAN_FD_MSG_SIZE = 84, CAN_FD_64_SIZE = 40, CAN_ERROR_EXT_SIZE = 32,
    REMOTE_FLAG = 0x80, DIR_FLAG = 0x1,
};
#define CAN_MSG_EXT 0x80000000u

/* bytes.find(b"LOBJ", pos, pos + 8): the match must end within both bounds. */
static int find_object(const uint8_t *data, size_t len, size_t pos, size_t *at) {
    size_t stop = pos + 8 < len ? pos + 8 : len;
    for (size_t i = pos; i + 4 <= stop; i++) {
        if (memcmp(data + i, "LOBJ", 4) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

static void set_id(gw_frames *f, size_t i, uint32_t can_id) {
    f->arbitration_id[i] = can_id & 0x1FFFFFFFu;
    f->is_extended[i] = (can_id & CAN_MSG_EXT) != 0;
}

/* The payload (python-can drops a remote frame's) and the length column after it. */
static void set_payload(gw_frames *f, size_t i, const uint8_t *bytes, size_t n, size_t padded, uint32_t remote_dlc) {
    if (f->is_remote[i]) {
        f->dlc[i] = (uint8_t)(remote_dlc < GW_CANLOG_MAX_DATA ? remote_dlc : GW_CANLOG_MAX_DATA);
        return;
    }
    size_t total = n > padded ? n : padded; /* bytes.ljust(padded, b"\0") */
    if (total > GW_CANLOG_MAX_DATA) total = GW_CANLOG_MAX_DATA;
    if (n > total) n = total;
    memcpy(f->data + i * GW_CANLOG_MAX_DATA, bytes, n);
    f->dlc[i] = (uint8_t)total;
}

/* data[start:start + length] with Python's slice rules (a negative end counts from the end). */
static size_t py_slice(size_t len, size_t start, int64_t length, size_t *from) {
    int64_t stop = (int64_t)start + length;
    if (stop < 0) stop += (int64_t)len;
    if (stop < 0) stop = 0;
    if (stop > (int64_t)len) stop = (int64_t)len;
    *from = start;
    return (size_t)stop > start ? (size_t)stop - start : 0;
}

/* The struct python-can unpacks for a frame object type; 0 for the types it ignores. */
static size_t struct_size(uint32_t type) {
    switch (type) {
    case CAN_MESSAGE: case CAN_MESSAGE2: return CAN_MSG_SIZE;
    case CAN_ERROR_EXT: return CAN_ERROR_EXT_SIZE;
    case CAN_FD_MESSAGE: return CAN_FD_MSG_SIZE;
    case CAN_FD_MESSAGE_64: return CAN_FD_64_SIZE;
    default: return 0;
    }
}

/* Row i's fields from the frame object whose struct (whole in data) starts at p. */
static void frame_object(const uint8_t *data, size_t len, size_t p, uint32_t type, uint16_t header_size,
                         uint32_t object_size, gw_frames *f, size_t i) {
    const uint8_t *m = data + p;
    if (type == CAN_MESSAGE || type == CAN_MESSAGE2) {
        set_id(f, i, gw_le32(m + 4));
        f->is_remote[i] = (m[2] & REMOTE_FLAG) != 0;
        f->is_rx[i] = !(m[2] & DIR_FLAG);
        set_payload(f, i, m + 8, m[3] < 8 ? m[3] : 8, 0, m[3]);
    } else if (type == CAN_ERROR_EXT) {
        f->is_error[i] = 1;
        set_id(f, i, gw_le32(m + 16));
        set_payload(f, i, m + 24, m[10] < 8 ? m[10] : 8, 0, 0);
    } else if (type == CAN_FD_MESSAGE) {
        uint8_t fd_flags = m[13];
        set_id(f, i, gw_le32(m + 4));
        f->is_remote[i] = (m[2] & REMOTE_FLAG) != 0;
        f->is_rx[i] = !(m[2] & DIR_FLAG);
        f->is_fd[i] = fd_flags & 1;
        f->bitrate_switch[i] = (fd_flags & 2) != 0;
        f->esi[i] = (fd_flags & 4) != 0;
        set_payload(f, i, m + 20, m[14] < 64 ? m[14] : 64, 0, gw_canlog_dlc2len(m[3]));
    } else { /* CAN_FD_MESSAGE_64 */
        uint32_t fd_flags = gw_le32(m + 12);
        uint8_t valid = m[2], ext_offset = m[35];
        set_id(f, i, gw_le32(m + 4));
        f->is_remote[i] = (fd_flags & 0x0010) != 0;
        f->is_fd[i] = (fd_flags & 0x1000) != 0;
        f->bitrate_switch[i] = (fd_flags & 0x2000) != 0;
        f->esi[i] = (fd_flags & 0x4000) != 0;
        f->is_rx[i] = m[34] == 0;
        /* issue 1905: valid bytes past the object's data read as zeros */
        int64_t field = (int64_t)(ext_offset ? ext_offset : object_size) - header_size - CAN_FD_64_SIZE;
        if (field > valid) field = valid;
        size_t from, n = py_slice(len, p + CAN_FD_64_SIZE, field, &from);
        set_payload(f, i, data + from, n, valid, gw_canlog_dlc2len(m[1]));
    }
}

static uint16_t channel_field(const uint8_t *m, uint32_t type) {
    return type == CAN_FD_MESSAGE_64 ? m[0] : gw_le16(m);
}

int gw_blf_walk(const uint8_t *data, size_t len, double start, gw_frames *f, size_t *pos,
                uint32_t *version, uint64_t *ticks, int *ten_us) {
    size_t p = *pos;
    for (;;) {
        size_t top = p, at;
        *pos = top;
        if (f->n >= f->cap) return GW_BLF_FULL;
        if (!find_object(data, len, p, &at)) return p + 8 > len ? GW_BLF_TAIL : GW_BLF_LOST;
        if (len - at < BASE_HEADER) return GW_BLF_TAIL;
        uint16_t header_size = gw_le16(data + at + 4), header_version = gw_le16(data + at + 6);
        uint32_t object_size = gw_le32(data + at + 8), type = gw_le32(data + at + 12);
        if ((uint64_t)object_size > len - at) return GW_BLF_TAIL; /* runs on into the next container */
        size_t next = at + object_size;
        if (object_size == 0) return GW_BLF_STUCK;
        p = at + BASE_HEADER;
        size_t header = header_version == 1 ? V1_HEADER : V2_HEADER;
        if (header_version != 1 && header_version != 2) {
            *version = header_version;
            *pos = next;
            return GW_BLF_VERSION;
        }
        if (len - p < header) return GW_BLF_TAIL;
        uint32_t flags = gw_le32(data + p);
        uint64_t stamp = gw_le64(data + p + 8);
        p += header;
        size_t need = struct_size(type);
        if (need == 0) {
            p = next;
            continue;
        }
        if (len - p < need) return GW_BLF_TAIL; /* struct.error: python-can ends the container */
        int32_t code = gw_canlog_channel(f, (int64_t)channel_field(data + p, type) - 1);
        if (code < 0) return GW_BLF_STUCK; /* unreachable: 65536 codes hold every 16-bit channel */
        double units = flags == 1 ? 1e5 : 1e9;
        size_t i = gw_canlog_row(f, (double)stamp / units + start, (uint16_t)code); /* exact below 2^53 ticks */
        frame_object(data, len, p, type, header_size, object_size, f, i);
        p = next;
        if (stamp > (1ull << 53)) {
            *ticks = stamp;
            *ten_us = flags == 1;
            *pos = p;
            return GW_BLF_TICKS;
        }
    }
}

int gw_blf_check(const uint8_t *data, size_t len, uint32_t max_size, size_t *pos, size_t *at, uint32_t *size) {
    size_t p = 0;
    while (p + BASE_HEADER <= len) {
        size_t found;
        if (!find_object(data, len, p, &found)) return GW_BLF_CHECK_STOP;
        *at = found;
        if (len - found < BASE_HEADER) return GW_BLF_CHECK_SHORT; /* blfcheck's unpack raises */
        uint32_t object_size = gw_le32(data + found + 8);
        if (object_size < BASE_HEADER || object_size > max_size) {
            *size = object_size;
            return GW_BLF_CHECK_SIZE;
        }
        if ((uint64_t)object_size > len - found) {
            p = found;
            break;
        }
        p = found + object_size;
    }
    *pos = p;
    return GW_BLF_CHECK_OK;
}
