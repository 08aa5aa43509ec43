// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replay file's building blocks, shared by its writer (record) and reader (replay): the
 * constants of docs/replay-format.md, a growable output buffer with varint encoding, a checked
 * input cursor, and chunk headers. Pure: no I/O.
 */
#ifndef MODEL_RECFMT_H
#define MODEL_RECFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file starts with 16 bytes: magic, major and minor version (u16 LE), 4 reserved bytes. */
#define RECFMT_MAGIC "\x89" "FTR\r\n\x1a\n"
#define RECFMT_MAGIC_LEN 8
#define RECFMT_FILE_HEADER 16
#define RECFMT_MAJOR 1 /* a reader refuses another major version */
#define RECFMT_MINOR 4 /* additions old readers skip: new chunk types, sections, fields (1: heap,
			 2: losses per probe, 3: Go, 4: who woke the blocks) */

/* Then chunks: a 20-byte header, then `stored` bytes of payload. */
#define RECFMT_SYNC "FTCK"
#define RECFMT_CHUNK_HEADER 20
#define RECFMT_MAX_STORED (16u << 20) /* limits a reader enforces */
#define RECFMT_MAX_RAW (64u << 20)

enum recfmt_type {
	RECFMT_HEADER = 1,  /* the session: first chunk of every file */
	RECFMT_STRINGS = 2, /* new strings */
	RECFMT_FRAMES = 3,  /* new frames */
	RECFMT_STACKS = 4,  /* new stacks */
	RECFMT_THREADS = 5, /* new threads, then changes of known ones */
	RECFMT_TICK = 6,    /* one closed tick */
	RECFMT_END = 7,     /* the recording ended cleanly */
	RECFMT_GOGROUPS = 8, /* new goroutine groups (model/goroutines.h) */
};

#define RECFMT_ZSTD 0x1u /* chunk flag: the payload is one zstd frame */

/* Header record keys (a header chunk is a list of key, length, value). */
enum recfmt_key {
	RECFMT_KEY_TOOL = 1,       /* string */
	RECFMT_KEY_HOST = 2,       /* string */
	RECFMT_KEY_KERNEL = 3,     /* string */
	RECFMT_KEY_START_WALL = 4, /* varint seconds, varint nanoseconds (CLOCK_REALTIME) */
	RECFMT_KEY_START_NS = 5,   /* varint CLOCK_MONOTONIC ns at the same moment */
	RECFMT_KEY_FREQ = 6,       /* varint Hz */
	RECFMT_KEY_CPUS = 7,       /* varint */
	RECFMT_KEY_SOURCE = 8,     /* string */
	RECFMT_KEY_UNWIND = 9,     /* string */
	RECFMT_KEY_TARGET = 10,    /* string: "whole system", "pid 12,34", "command ./app" */
	RECFMT_KEY_CMDLINE = 11,   /* string, one record per argument of flametop itself */
	RECFMT_KEY_PID = 12,       /* varint, one record per -p target */
	RECFMT_KEY_COMMAND = 13,   /* string, one record per argument of the launched command */
	RECFMT_KEY_PROBE = 14,     /* string name, string status, string reason */
	RECFMT_KEY_TICK_MS = 15,   /* varint: the interval ticks were closed at */
	RECFMT_KEY_PART = 16,      /* varint: 0, or N for the rotated file FILE.N */
};

/* Tick sections (a tick chunk is a list of id, length, body). */
enum recfmt_section {
	RECFMT_SEC_FIGURES = 1, /* seq, start, duration, samples, truncated, lost[] */
	RECFMT_SEC_CPU = 2,     /* on-CPU samples by (thread, stack) */
	RECFMT_SEC_OFFCPU = 3,  /* blocked ns by (thread, stack) */
	RECFMT_SEC_STATES = 4,  /* ns by (thread, state) */
	RECFMT_SEC_HEAP = 5,    /* RSS growth: signed bytes and count by (thread, stack) */
	RECFMT_SEC_ALLOCS = 6,  /* leak mode: allocated minus freed by (thread, stack) */
	RECFMT_SEC_MEMORY = 7,  /* process memory readings and changes, by pid */
	RECFMT_SEC_HEAPINFO = 8, /* how the heap was tracked in the tick */
	RECFMT_SEC_WAKES = 9,   /* blocks by (thread, block and waker stack): --waker-stacks */
	RECFMT_SEC_GOPROCS = 16,  /* Go processes: figures, GC */
	RECFMT_SEC_GOGROUPS = 17, /* goroutine groups whose count changed */
	RECFMT_SEC_GOPROF = 18,   /* Go profile buckets that changed */
};

/* Frame flags, thread flags, end flags. */
#define RECFMT_FRAME_SYMBOLIZED 0x1u
#define RECFMT_THREAD_EXITED 0x1u
#define RECFMT_END_CMD_EXITED 0x1u
#define RECFMT_END_CMD_TERMINATED 0x2u

/* Limits on what a reader accepts inside payloads. */
#define RECFMT_MAX_STRING 65536u
#define RECFMT_MAX_FRAMES 4096u   /* frames in one stack */
#define RECFMT_MAX_GAP (1u << 20) /* ids a lost table chunk may leave out */

/* A growable output buffer. Allocation cannot fail (xalloc). */
struct recfmt_buf {
	uint8_t *p;
	size_t len, cap;
};

void recfmt_buf_fini(struct recfmt_buf *b);
void recfmt_put(struct recfmt_buf *b, const void *data, size_t n);
void recfmt_put_u(struct recfmt_buf *b, uint64_t v); /* LEB128 varint */
void recfmt_put_s(struct recfmt_buf *b, int64_t v);  /* zigzag varint */
void recfmt_put_str(struct recfmt_buf *b, const char *s); /* varint length, bytes; NULL as "" */
/* A length-prefixed record: reserve with recfmt_open(), fill, recfmt_close() writes the length. */
size_t recfmt_open(struct recfmt_buf *b);
void recfmt_close(struct recfmt_buf *b, size_t mark);

/* A checked input cursor: reading past the end or a bad varint sets bad and yields zeros. */
struct recfmt_rd {
	const uint8_t *p, *end;
	bool bad;
};

uint64_t recfmt_get_u(struct recfmt_rd *r);
int64_t recfmt_get_s(struct recfmt_rd *r);
/* n bytes, or NULL (and bad) when fewer remain. */
const uint8_t *recfmt_get(struct recfmt_rd *r, size_t n);
/* A varint length (at most max) and that many bytes; *len gets the length. */
const uint8_t *recfmt_get_bytes(struct recfmt_rd *r, size_t max, size_t *len);
/* A length-prefixed record as a sub-cursor; r moves past it. */
struct recfmt_rd recfmt_get_record(struct recfmt_rd *r);
size_t recfmt_left(const struct recfmt_rd *r);

struct recfmt_chunk {
	uint16_t type, flags;
	uint32_t stored; /* payload bytes in the file */
	uint32_t raw;    /* payload bytes once decompressed */
	uint32_t crc;    /* crc32 of header bytes 4..15 and the stored payload */
};

void recfmt_pack_chunk(uint8_t out[RECFMT_CHUNK_HEADER], const struct recfmt_chunk *c);
/* 0, or -EBADMSG when the sync marker is missing or the lengths exceed the limits. */
int recfmt_parse_chunk(const uint8_t in[RECFMT_CHUNK_HEADER], struct recfmt_chunk *c);
/* The checksum of a chunk whose header bytes are hdr (the crc field is not read). */
uint32_t recfmt_chunk_crc(const uint8_t hdr[RECFMT_CHUNK_HEADER], const uint8_t *payload,
			  size_t stored);

void recfmt_pack_file_header(uint8_t out[RECFMT_FILE_HEADER]);

#endif
