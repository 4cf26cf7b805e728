/* nightos_command.h — the C SDK's command API: what an app started as a command needs to talk to the
 * user (docs/sdk.md). Read the typed arguments of the execution context (applications.md "Execution
 * Context", "Values encoding"), print to CMDMSG / CMDERR with colours and styles (shell.md "Text
 * output"), read CMDIN / CMDUSR (shell.md "User inputs"), write CMDRAW, return a typed value on CMDOUT
 * or fail (applications.md "Returning and failing").
 * Hand-written on top of the generated nightos.h, whose constants (NIGHTOS_CTX_*, NIGHTOS_VALUE_*,
 * NIGHTOS_STYLE_*, …) carry every offset and code. Header-only, no libc: the context and the message
 * being sent live in static buffers of the one translation unit that includes it; call it from one
 * thread at a time. */
#ifndef NIGHTOS_COMMAND_H
#define NIGHTOS_COMMAND_H

#include "nightos.h"

/* ---- small helpers (no libc) -------------------------------------------------------------------- */

static inline uint64_t nightos__strlen(const char *s) {
  uint64_t n = 0;
  while (s[n]) n++;
  return n;
}
static inline void nightos__copy(uint8_t *dst, const uint8_t *src, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) dst[i] = src[i];
}

static void nightos_fatal(const char *message);

/* A string, path or command value: UTF-8 bytes inside the context, not NUL-terminated. */
typedef struct nightos_str {
  const char *ptr;
  uint64_t len;
} nightos_str;

/* ---- the execution context ---------------------------------------------------------------------- */

typedef struct nightos_context_state {
  uint8_t bytes[NIGHTOS_CTX_COMMAND_HEADER_SIZE + NIGHTOS_CTX_MAX_ARGS_SIZE];
  int loaded;
  uint32_t header_size;
  uint32_t size;
} nightos_context_state;

/* The context as EXECUTION_CONTEXT gave it (header, then the arguments), read on first use. */
static inline nightos_context_state *nightos__context(void) {
  static nightos_context_state ctx;
  if (ctx.loaded) return &ctx;
  nightos_execution_context_ret r;
  /* Without the context there are no pipes to say so on: exit with a failure status. */
  if (nightos_execution_context(NIGHTOS_CONTEXT_INFO_HEADER, (uint64_t)(uintptr_t)ctx.bytes, &r) !=
      NIGHTOS_OK)
    nightos_exit(1);
  int command = (ctx.bytes[NIGHTOS_CTX_STARTUP_REASON] >> 4) == NIGHTOS_STARTUP_COMMAND;
  ctx.header_size = command ? NIGHTOS_CTX_COMMAND_HEADER_SIZE : NIGHTOS_CTX_BASE_SIZE;
  uint32_t args = command ? (uint32_t)nightos__get(ctx.bytes + NIGHTOS_CTX_ARGS_SIZE, 2) : 0;
  if (args > NIGHTOS_CTX_MAX_ARGS_SIZE) nightos_exit(1);
  if (nightos_execution_context(NIGHTOS_CONTEXT_INFO_ALL, (uint64_t)(uintptr_t)ctx.bytes, &r) !=
      NIGHTOS_OK)
    nightos_exit(1);
  ctx.size = ctx.header_size + args;
  ctx.loaded = 1;
  return &ctx;
}

/* The startup reason's code (NIGHTOS_STARTUP_COMMAND, NIGHTOS_STARTUP_POST_INSTALL, …). */
static inline uint8_t nightos_startup_code(void) {
  return nightos__context()->bytes[NIGHTOS_CTX_STARTUP_REASON] >> 4;
}
/* True when the app was started as one of its commands: only then do the pipes and arguments exist. */
static inline int nightos_is_command(void) {
  return nightos_startup_code() == NIGHTOS_STARTUP_COMMAND;
}
/* Restarted after a crash (startup reason bit 4): sys::crashsave holds a crash save. */
static inline int nightos_started_after_crash(void) {
  return (nightos__context()->bytes[NIGHTOS_CTX_STARTUP_REASON] & NIGHTOS_STARTUP_AFTER_CRASH) != 0;
}
/* Whether what the app writes on CMDRAW will be read (startup reason bit 5). */
static inline int nightos_raw_output_read(void) {
  return (nightos__context()->bytes[NIGHTOS_CTX_STARTUP_REASON] & NIGHTOS_STARTUP_RAW_OUTPUT_READ) !=
         0;
}
/* The app's own ANID. */
static inline uint32_t nightos_anid(void) {
  return (uint32_t)nightos__get(nightos__context()->bytes + NIGHTOS_CTX_ANID, 4);
}
static inline uint64_t nightos__command_field(int offset, int size) {
  return nightos_is_command() ? nightos__get(nightos__context()->bytes + offset, size) : 0;
}
/* The ANID of the app that called the command (0: the shell). */
static inline uint32_t nightos_caller_anid(void) {
  return (uint32_t)nightos__command_field(NIGHTOS_CTX_CALLER_ANID, 4);
}
/* The command pipes' identifiers (0 when the app was not started as a command). */
static inline uint64_t nightos_cmdin_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDIN, 8); }
static inline uint64_t nightos_cmdusr_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDUSR, 8); }
static inline uint64_t nightos_cmdmsg_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDMSG, 8); }
static inline uint64_t nightos_cmderr_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDERR, 8); }
static inline uint64_t nightos_cmdraw_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDRAW, 8); }
static inline uint64_t nightos_cmdout_id(void) { return nightos__command_field(NIGHTOS_CTX_CMDOUT, 8); }

/* The name of the manifest command the app was started for (len 0 if none): NCW's addition at the
 * start of the context's future-proof space (docs/kernel.md), so an app that exposes several commands
 * can tell them apart. */
static inline nightos_str nightos_command_name(void) {
  nightos_str s = {0, 0};
  if (!nightos_is_command()) return s;
  const uint8_t *p = nightos__context()->bytes + NIGHTOS_CTX_FUTURE_PROOF;
  if (p[0] > NIGHTOS_CTX_COMMAND_NAME_MAX) return s;
  s.ptr = (const char *)p + 1;
  s.len = p[0];
  return s;
}

/* How many arguments the command was given. */
static inline int nightos_arg_count(void) {
  return (int)nightos__command_field(NIGHTOS_CTX_ARG_COUNT, 1);
}

/* One typed value of the arguments (or a list item): its type code and its representation. */
typedef struct nightos_value {
  uint8_t type; /* NIGHTOS_VALUE_BOOL, NIGHTOS_VALUE_INT, … */
  const uint8_t *at;
  const uint8_t *end;
} nightos_value;

/* The size of the representation of a value of `type` at `at` (lists: their items, each typed). */
static inline uint64_t nightos__repr_size(uint8_t type, const uint8_t *at, const uint8_t *end) {
  uint64_t room = (uint64_t)(end - at), size = 0;
  switch (type) {
    case NIGHTOS_VALUE_VOID: size = 0; break;
    case NIGHTOS_VALUE_BOOL: size = 1; break;
    case NIGHTOS_VALUE_CHAR: size = 4; break;
    case NIGHTOS_VALUE_INT:
    case NIGHTOS_VALUE_FLOAT:
    case NIGHTOS_VALUE_STREAM: size = 8; break;
    case NIGHTOS_VALUE_STRING:
    case NIGHTOS_VALUE_PATH:
    case NIGHTOS_VALUE_COMMAND:
      if (room < 8 || nightos__get(at, 8) > room - 8) nightos_fatal("a string value is truncated");
      size = 8 + nightos__get(at, 8);
      break;
    case NIGHTOS_VALUE_LIST: {
      if (room < 8) nightos_fatal("a list value is truncated");
      uint64_t n = nightos__get(at, 8);
      const uint8_t *p = at + 8;
      for (uint64_t k = 0; k < n; k++) {
        if (p >= end) nightos_fatal("a list value is truncated");
        p += 1 + nightos__repr_size(p[0], p + 1, end);
      }
      size = (uint64_t)(p - at);
      break;
    }
    default: nightos_fatal("unknown value type code");
  }
  if (size > room) nightos_fatal("a value is truncated");
  return size;
}

/* Argument `i` (0-based). A missing one is a fatal error: check nightos_arg_count() first. */
static inline nightos_value nightos_arg(int i) {
  nightos_context_state *c = nightos__context();
  if (i < 0 || i >= nightos_arg_count()) nightos_fatal("an argument was asked that the command lacks");
  const uint8_t *at = c->bytes + c->header_size, *end = c->bytes + c->size;
  for (int k = 0;; k++) {
    if (end - at < 9 || nightos__get(at, 8) < 1 || nightos__get(at, 8) > (uint64_t)(end - at - 8))
      nightos_fatal("the argument block is truncated");
    const uint8_t *next = at + 8 + nightos__get(at, 8);
    if (k == i) {
      nightos_value v = {at[8], at + 9, next};
      return v;
    }
    at = next;
  }
}

static inline void nightos__expect(nightos_value v, uint8_t type) {
  if (v.type != type) nightos_fatal("an argument is not of the type asked");
}
static inline int nightos_value_bool(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_BOOL);
  return v.at[0] != 0;
}
static inline int64_t nightos_value_int(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_INT);
  return (int64_t)nightos__get(v.at, 8);
}
static inline double nightos_value_float(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_FLOAT);
  union { uint64_t u; double d; } x = {nightos__get(v.at, 8)};
  return x.d;
}
/* A char's Unicode code point (UTF-32). */
static inline uint32_t nightos_value_char(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_CHAR);
  return (uint32_t)nightos__get(v.at, 4);
}
/* A string, path or command value. */
static inline nightos_str nightos_value_string(nightos_value v) {
  if (v.type != NIGHTOS_VALUE_STRING && v.type != NIGHTOS_VALUE_PATH && v.type != NIGHTOS_VALUE_COMMAND)
    nightos_fatal("an argument is not of the type asked");
  nightos_str s = {(const char *)v.at + 8, nightos__get(v.at, 8)};
  return s;
}
/* A stream value: the RC identifier of the pipe to read. */
static inline uint64_t nightos_value_stream(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_STREAM);
  return nightos__get(v.at, 8);
}
/* A list's number of items. */
static inline uint64_t nightos_value_length(nightos_value v) {
  nightos__expect(v, NIGHTOS_VALUE_LIST);
  return nightos__get(v.at, 8);
}
/* A list's item `i`. */
static inline nightos_value nightos_value_item(nightos_value v, uint64_t i) {
  if (i >= nightos_value_length(v)) nightos_fatal("a list item was asked that the list lacks");
  const uint8_t *p = v.at + 8;
  for (uint64_t k = 0; k < i; k++) p += 1 + nightos__repr_size(p[0], p + 1, v.end);
  nightos_value item = {p[0], p + 1, p + 1 + nightos__repr_size(p[0], p + 1, v.end)};
  return item;
}

/* A list's items in one pass (nightos_value_item walks the list from its start each time):
 *   nightos_list_iter it = nightos_list_items(v); nightos_value item;
 *   while (nightos_list_next(&it, &item)) ... */
typedef struct nightos_list_iter {
  const uint8_t *p;
  const uint8_t *end;
  uint64_t left;
} nightos_list_iter;
static inline nightos_list_iter nightos_list_items(nightos_value v) {
  nightos_list_iter it = {v.at + 8, v.end, nightos_value_length(v)};
  return it;
}
static inline int nightos_list_next(nightos_list_iter *it, nightos_value *out) {
  if (it->left == 0) return 0;
  if (it->p >= it->end) nightos_fatal("a list value is truncated");
  out->type = it->p[0];
  out->at = it->p + 1;
  out->end = out->at + nightos__repr_size(out->type, out->at, it->end);
  it->p = out->end;
  it->left--;
  return 1;
}

/* ---- writing to the pipes ----------------------------------------------------------------------- */

/* Writes all of `len` bytes to the pipe `sc`, blocking for room; 0 if the pipe is gone. */
static inline int nightos__write_all(uint64_t sc, const uint8_t *src, uint64_t len) {
  nightos_pipe_write_ret r;
  while (len > 0) {
    uint64_t chunk = len > NIGHTOS_MAX_PIPE_MESSAGE_SIZE ? NIGHTOS_MAX_PIPE_MESSAGE_SIZE : len;
    if (nightos_pipe_write(sc, (uint32_t)chunk, (uint64_t)(uintptr_t)src, NIGHTOS_PIPE_MODE_BLOCK, &r) !=
        NIGHTOS_OK)
      return 0;
    src += chunk;
    len -= chunk;
  }
  return 1;
}

#define NIGHTOS_MAX_CONTROLS 16
/* The look of a text message: colours (0xRRGGBB; 0 keeps the current one), NIGHTOS_STYLE_* bits, and
 * up to NIGHTOS_MAX_CONTROLS cursor moves sent before the text (NIGHTOS_CONTROL(code, count)). */
typedef struct nightos_style {
  uint32_t fg;
  uint32_t bg;
  uint8_t flags;
  uint8_t control_count;
  uint16_t controls[NIGHTOS_MAX_CONTROLS];
} nightos_style;
#define NIGHTOS_CONTROL(code, count) ((uint16_t)(((code) << 8) | ((count) & 0xFF)))

/* Encodes one text message (shell.md "Text output") into `out` (room for the header, the controls and
 * `len` bytes): fg RGB, bg RGB, style, control count, the controls (code then data byte), the text.
 * Returns its size. */
static inline uint64_t nightos_encode_message(const nightos_style *style, const char *text,
                                              uint64_t len, uint8_t *out) {
  static const nightos_style plain;
  if (!style) style = &plain;
  uint8_t n = style->control_count > NIGHTOS_MAX_CONTROLS ? NIGHTOS_MAX_CONTROLS : style->control_count;
  out[0] = (uint8_t)(style->fg >> 16);
  out[1] = (uint8_t)(style->fg >> 8);
  out[2] = (uint8_t)style->fg;
  out[3] = (uint8_t)(style->bg >> 16);
  out[4] = (uint8_t)(style->bg >> 8);
  out[5] = (uint8_t)style->bg;
  out[6] = style->flags;
  out[7] = n;
  for (int i = 0; i < n; i++) {
    out[NIGHTOS_TEXT_MESSAGE_HEADER_SIZE + 2 * i] = (uint8_t)(style->controls[i] >> 8);
    out[NIGHTOS_TEXT_MESSAGE_HEADER_SIZE + 2 * i + 1] = (uint8_t)style->controls[i];
  }
  nightos__copy(out + NIGHTOS_TEXT_MESSAGE_HEADER_SIZE + 2 * n, (const uint8_t *)text, len);
  return NIGHTOS_TEXT_MESSAGE_HEADER_SIZE + 2 * n + len;
}

/* Sends `len` bytes of UTF-8 text (and a newline if `newline`) on the message pipe `sc`, split at
 * character boundaries into messages that fit; the controls go with the first one. 0 if the pipe is
 * gone. */
static inline int nightos__send_text(uint64_t sc, const nightos_style *style, const char *text,
                                     uint64_t len, int newline) {
  static uint8_t msg[NIGHTOS_MAX_PIPE_MESSAGE_SIZE];
  nightos_style first = {0}, rest = {0};
  if (style) first = *style;
  if (first.control_count > NIGHTOS_MAX_CONTROLS) first.control_count = NIGHTOS_MAX_CONTROLS;
  rest.fg = first.fg, rest.bg = first.bg, rest.flags = first.flags;
  uint64_t off = 0;
  int pending_newline = newline;
  do {
    const nightos_style *s = off == 0 ? &first : &rest;
    uint64_t room = NIGHTOS_MAX_PIPE_MESSAGE_SIZE - NIGHTOS_TEXT_MESSAGE_HEADER_SIZE - 2 * s->control_count;
    uint64_t n = len - off > room ? room : len - off;
    /* Never cut a UTF-8 sequence: back up to the start of the character. */
    while (off + n < len && (((const uint8_t *)text)[off + n] & 0xC0) == 0x80) n--;
    uint64_t size = nightos_encode_message(s, text + off, n, msg);
    if (off + n == len && pending_newline && n < room) msg[size++] = '\n', pending_newline = 0;
    nightos_pipe_write_ret r;
    if (nightos_pipe_write(sc, (uint32_t)size, (uint64_t)(uintptr_t)msg, NIGHTOS_PIPE_MODE_BLOCK, &r) !=
        NIGHTOS_OK)
      return 0;
    off += n;
  } while (off < len || pending_newline);
  return 1;
}
static inline int nightos_send_text(uint64_t sc, const nightos_style *style, const char *text,
                                    uint64_t len) {
  return nightos__send_text(sc, style, text, len, 0);
}

/* Prints a NUL-terminated string on CMDMSG (no newline added); _n: `len` bytes; _styled: with a look. */
static inline int nightos_print(const char *s) {
  return nightos_send_text(nightos_cmdmsg_id(), 0, s, nightos__strlen(s));
}
static inline int nightos_print_n(const char *s, uint64_t len) {
  return nightos_send_text(nightos_cmdmsg_id(), 0, s, len);
}
static inline int nightos_print_styled(const nightos_style *style, const char *s) {
  return nightos_send_text(nightos_cmdmsg_id(), style, s, nightos__strlen(s));
}
/* Prints a string then a newline on CMDMSG (one message). */
static inline int nightos_println(const char *s) {
  return nightos__send_text(nightos_cmdmsg_id(), 0, s, nightos__strlen(s), 1);
}
/* The same on CMDERR, the error messages. */
static inline int nightos_print_error(const char *s) {
  return nightos_send_text(nightos_cmderr_id(), 0, s, nightos__strlen(s));
}
static inline int nightos_print_error_styled(const nightos_style *style, const char *s) {
  return nightos_send_text(nightos_cmderr_id(), style, s, nightos__strlen(s));
}
static inline int nightos_println_error(const char *s) {
  return nightos__send_text(nightos_cmderr_id(), 0, s, nightos__strlen(s), 1);
}

/* Writes raw bytes on CMDRAW (see nightos_raw_output_read()). 0 if CMDRAW is closed or absent. */
static inline int nightos_write_raw(const void *data, uint64_t len) {
  return nightos__write_all(nightos_cmdraw_id(), (const uint8_t *)data, len);
}
static inline int nightos_write_raw_str(const char *s) {
  return nightos_write_raw(s, nightos__strlen(s));
}

/* ---- reading the pipes -------------------------------------------------------------------------- */

/* Reads up to `len` bytes of the raw pipe `rc`: waits for data, then takes what is there. Returns the
 * number of bytes read, 0 at its end (closed, or no such pipe). */
static inline uint64_t nightos_read_some(uint64_t rc, void *buf, uint64_t len) {
  uint8_t *dst = (uint8_t *)buf;
  nightos_pipe_read_ret r = {0};
  if (len == 0) return 0;
  /* Take what is pending; if nothing is, block for one byte, then take the rest that came with it. */
  if (nightos_pipe_read(rc, NIGHTOS_PIPE_MODE_PARTIAL, (uint64_t)(uintptr_t)dst, len, &r) != NIGHTOS_OK)
    return 0;
  if (r.result > 0) return r.result;
  int32_t s = nightos_pipe_read(rc, NIGHTOS_PIPE_MODE_BLOCK, (uint64_t)(uintptr_t)dst, 1, &r);
  /* Closed (NIGHTOS_PIPE_READ_ERR_RC_CLOSED) before the one byte came: the end. */
  if (s != NIGHTOS_OK) return 0;
  if (len == 1) return 1;
  r.result = 0;
  if (nightos_pipe_read(rc, NIGHTOS_PIPE_MODE_PARTIAL, (uint64_t)(uintptr_t)(dst + 1), len - 1, &r) !=
      NIGHTOS_OK)
    return 1;
  return 1 + r.result;
}

/* Reads CMDIN (the typed input; a `stream` input's bytes): the bytes read, 0 at the end of the input. */
static inline uint64_t nightos_read_input(void *buf, uint64_t len) {
  return nightos_read_some(nightos_cmdin_id(), buf, len);
}

/* The command's typed input (its manifest's `cmdin`, docs/cli.md "Typed input"): CMDIN read to its end
 * into `buf` (`cap` bytes), one encoded value, in *out (pointing into buf). Returns 0 when no value came
 * (an empty input), 1 with a value. Bytes past `cap`, or bytes that are not exactly one value, are a
 * fatal error. A `stream` input is read with nightos_read_input instead. */
static inline int nightos_input_value(void *buf, uint64_t cap, nightos_value *out) {
  uint8_t *b = (uint8_t *)buf;
  uint64_t used = 0, n;
  while (used < cap && (n = nightos_read_input(b + used, cap - used)) > 0) used += n;
  if (used == cap) {
    uint8_t extra;
    if (nightos_read_input(&extra, 1) > 0) nightos_fatal("the input is larger than its buffer");
  }
  if (used == 0) return 0;
  if (used < 9 || nightos__get(b, 8) != used - 8) nightos_fatal("the input is not one value");
  const uint8_t *end = b + used;
  if (nightos__repr_size(b[8], b + 9, end) != used - 9) nightos_fatal("the input is not one value");
  out->type = b[8];
  out->at = b + 9;
  out->end = end;
  return 1;
}

/* One user input of CMDUSR (shell.md "User inputs"). */
typedef struct nightos_key {
  uint8_t modifiers; /* NIGHTOS_KEY_COMMAND | NIGHTOS_KEY_CTRL | … */
  uint8_t keycode;
  uint32_t codepoint; /* the printable character, 0 if the key has none */
  uint8_t utf8[4];    /* the same, as the message carries it */
} nightos_key;

/* Waits for the next user input on CMDUSR: 1, or 0 once CMDUSR is closed (or absent). */
static inline int nightos_read_key(nightos_key *out) {
  uint8_t b[NIGHTOS_USER_INPUT_SIZE];
  nightos_pipe_read_ret r;
  if (nightos_pipe_read(nightos_cmdusr_id(), NIGHTOS_PIPE_MODE_BLOCK, (uint64_t)(uintptr_t)b,
                        NIGHTOS_USER_INPUT_SIZE, &r) != NIGHTOS_OK ||
      r.result != NIGHTOS_USER_INPUT_SIZE)
    return 0;
  out->modifiers = b[0];
  out->keycode = b[1];
  for (int i = 0; i < 4; i++) out->utf8[i] = b[2 + i];
  uint32_t b0 = b[2], b1 = b[3] & 0x3F, b2 = b[4] & 0x3F, b3 = b[5] & 0x3F;
  out->codepoint = b0 < 0x80   ? b0
                   : b0 < 0xE0 ? ((b0 & 0x1F) << 6) | b1
                   : b0 < 0xF0 ? ((b0 & 0x0F) << 12) | (b1 << 6) | b2
                               : ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3;
  return 1;
}

/* ---- the typed result --------------------------------------------------------------------------- */

/* Sends one value on CMDOUT: its 8-byte length (type code + representation), type code, representation. */
static inline int nightos__return(uint8_t type, const uint8_t *repr, uint64_t len) {
  uint8_t head[9];
  nightos__put(head, 1 + len, 8);
  head[8] = type;
  return nightos__write_all(nightos_cmdout_id(), head, 9) &&
         nightos__write_all(nightos_cmdout_id(), repr, len);
}
static inline int nightos_return_void(void) { return nightos__return(NIGHTOS_VALUE_VOID, 0, 0); }
static inline int nightos_return_bool(int v) {
  uint8_t b = v ? 1 : 0;
  return nightos__return(NIGHTOS_VALUE_BOOL, &b, 1);
}
static inline int nightos_return_int(int64_t v) {
  uint8_t b[8];
  nightos__put(b, (uint64_t)v, 8);
  return nightos__return(NIGHTOS_VALUE_INT, b, 8);
}
static inline int nightos_return_float(double v) {
  union { double d; uint64_t u; } x = {v};
  uint8_t b[8];
  nightos__put(b, x.u, 8);
  return nightos__return(NIGHTOS_VALUE_FLOAT, b, 8);
}
static inline int nightos_return_char(uint32_t codepoint) {
  uint8_t b[4];
  nightos__put(b, codepoint, 4);
  return nightos__return(NIGHTOS_VALUE_CHAR, b, 4);
}
static inline int nightos__return_text(uint8_t type, const char *s, uint64_t len) {
  uint8_t head[17];
  nightos__put(head, 9 + len, 8);
  head[8] = type;
  nightos__put(head + 9, len, 8);
  return nightos__write_all(nightos_cmdout_id(), head, 17) &&
         nightos__write_all(nightos_cmdout_id(), (const uint8_t *)s, len);
}
/* A string (`len` bytes of UTF-8), a path, a command. */
static inline int nightos_return_string(const char *s, uint64_t len) {
  return nightos__return_text(NIGHTOS_VALUE_STRING, s, len);
}
static inline int nightos_return_path(const char *s, uint64_t len) {
  return nightos__return_text(NIGHTOS_VALUE_PATH, s, len);
}
static inline int nightos_return_command(const char *s, uint64_t len) {
  return nightos__return_text(NIGHTOS_VALUE_COMMAND, s, len);
}
/* A stream: the RC identifier of a pipe the caller will read. */
static inline int nightos_return_stream(uint64_t rc) {
  uint8_t b[8];
  nightos__put(b, rc, 8);
  return nightos__return(NIGHTOS_VALUE_STREAM, b, 8);
}

/* A list being built in the caller's buffer: its representation (item count, then typed items).
 * An item that does not fit sets `overflow`, and nightos_return_list then fails the command. */
typedef struct nightos_list {
  uint8_t *buf;
  uint64_t cap;
  uint64_t used;
  uint64_t count;
  int overflow;
} nightos_list;

static inline void nightos_list_init(nightos_list *l, void *buf, uint64_t cap) {
  l->buf = (uint8_t *)buf;
  l->cap = cap;
  l->used = 8;
  l->count = 0;
  l->overflow = cap < 8;
  if (!l->overflow) nightos__put(l->buf, 0, 8);
}
static inline uint8_t *nightos__list_item(nightos_list *l, uint8_t type, uint64_t size) {
  if (l->overflow || l->cap - l->used < 1 + size) {
    l->overflow = 1;
    return 0;
  }
  uint8_t *p = l->buf + l->used;
  p[0] = type;
  l->used += 1 + size;
  nightos__put(l->buf, ++l->count, 8);
  return p + 1;
}
static inline void nightos_list_add_bool(nightos_list *l, int v) {
  uint8_t *p = nightos__list_item(l, NIGHTOS_VALUE_BOOL, 1);
  if (p) p[0] = v ? 1 : 0;
}
static inline void nightos_list_add_int(nightos_list *l, int64_t v) {
  uint8_t *p = nightos__list_item(l, NIGHTOS_VALUE_INT, 8);
  if (p) nightos__put(p, (uint64_t)v, 8);
}
static inline void nightos_list_add_float(nightos_list *l, double v) {
  union { double d; uint64_t u; } x = {v};
  uint8_t *p = nightos__list_item(l, NIGHTOS_VALUE_FLOAT, 8);
  if (p) nightos__put(p, x.u, 8);
}
static inline void nightos_list_add_char(nightos_list *l, uint32_t codepoint) {
  uint8_t *p = nightos__list_item(l, NIGHTOS_VALUE_CHAR, 4);
  if (p) nightos__put(p, codepoint, 4);
}
static inline void nightos__list_add_text(nightos_list *l, uint8_t type, const char *s, uint64_t len) {
  uint8_t *p = nightos__list_item(l, type, 8 + len);
  if (!p) return;
  nightos__put(p, len, 8);
  nightos__copy(p + 8, (const uint8_t *)s, len);
}
static inline void nightos_list_add_string(nightos_list *l, const char *s, uint64_t len) {
  nightos__list_add_text(l, NIGHTOS_VALUE_STRING, s, len);
}
static inline void nightos_list_add_path(nightos_list *l, const char *s, uint64_t len) {
  nightos__list_add_text(l, NIGHTOS_VALUE_PATH, s, len);
}
/* A nested list (its representation is copied). */
static inline void nightos_list_add_list(nightos_list *l, const nightos_list *inner) {
  if (inner->overflow) {
    l->overflow = 1;
    return;
  }
  uint8_t *p = nightos__list_item(l, NIGHTOS_VALUE_LIST, inner->used);
  if (p) nightos__copy(p, inner->buf, inner->used);
}
static inline int nightos_fail(void);
static inline int nightos_return_list(const nightos_list *l) {
  if (l->overflow) {
    nightos_println_error("the list to return does not fit its buffer");
    return nightos_fail() && 0;
  }
  return nightos__return(NIGHTOS_VALUE_LIST, l->buf, l->used);
}

/* Fails the command: "the 0xFF value" on CMDOUT, as NCW reads it (docs/ipc.md "Command pipes"): a value
 * of type code 0xFF without representation. The shell reports a failed, not a faulty, command. */
static inline int nightos_fail(void) {
  return nightos__return(NIGHTOS_COMMAND_FAILURE, 0, 0);
}

/* Prints `message` on CMDERR, fails the command and exits: what the SDK does when it cannot go on. */
static void nightos_fatal(const char *message) {
  nightos_println_error(message);
  nightos_fail();
  nightos_exit(1);
  __builtin_unreachable();
}

#endif /* NIGHTOS_COMMAND_H */
