/* nightos_fs.h — the C SDK's typed wrappers for sys::fs (specs/services/system/fs.md; docs/sdk.md
 * "sys::fs"), as sdk/as/fs.ts gives them to AssemblyScript: the connection (CONNECT_SERVICE to the
 * system, PID 10 as the scope), one function per method an app needs, the arguments encoded as
 * filesystem-interfaces.md and data-structures.md lay them out. Every method code and errcode comes from
 * the generated nightos.h (NIGHTOS_FS_METHOD_*, NIGHTOS_FS_<METHOD>_ERR_*).
 * Paths are absolute NightOS paths, NUL-terminated UTF-8 ("/home/user/appdata/x/notes"), sent as split
 * paths. Each function returns 1 (or a non-zero ID) when it worked, 0 when it failed, with the errcode
 * in nightos_fs_error(). Calls are synchronous: SEND_SOCK_MSG, then READ_SOCK_MSG polled (it never
 * waits) with short, growing sleeps; notifications arriving meanwhile are queued for
 * nightos_fs_next_change. Header-only, no libc; static buffers (a 1 MiB answer buffer, the largest
 * answer of a system service): one translation unit, one thread at a time. Names and items handed out
 * point into the answer buffer and are valid until the next call. */
#ifndef NIGHTOS_FS_H
#define NIGHTOS_FS_H

#include "nightos.h"

/* NCW SDK errcodes, for failures before sys::fs answered (outside the spec's 16 bits). */
#define NIGHTOS_FS_SDK_ERR_CONNECT 0x10000
#define NIGHTOS_FS_SDK_ERR_SEND 0x10001
#define NIGHTOS_FS_SDK_ERR_READ 0x10002
#define NIGHTOS_FS_SDK_ERR_NO_FSID 0x10003
#define NIGHTOS_FS_SDK_ERR_BAD_ANSWER 0x10004
#define NIGHTOS_FS_SDK_ERR_TOO_LONG 0x10005

/* READ_SOCK_MSG's status bits (docs/ipc.md): a new exchange (a notification), an error message. */
#define NIGHTOS__FS_STATUS_NEW_EXCHANGE 0x01
#define NIGHTOS__FS_STATUS_ERROR 0x02
#define NIGHTOS__FS_MAX_ANSWER (1 << 20)
#define NIGHTOS__FS_MAX_ARGS (72 * 1024)
#define NIGHTOS__FS_MAX_QUEUED 256

/* An item's metadata (filesystem-interfaces.md "Item metadata"); modified_at is -1 when absent. */
typedef struct nightos_fs_item {
  uint64_t feid;
  uint8_t type;
  uint8_t flags;
  uint64_t size;
  int64_t modified_at;
  const char *name; /* UTF-8, not NUL-terminated, in the answer buffer */
  uint64_t name_len;
} nightos_fs_item;

/* A READ_DIRECTORY answer being walked (nightos_fs_dir_next). */
typedef struct nightos_fs_dir {
  uint64_t at, end;
} nightos_fs_dir;

/* A notification: ITEM_CHANGED (filesystem 0) or FS_CHANGED (filesystem 1). */
typedef struct nightos_fs_change {
  int filesystem;
  uint64_t fsid;
  uint64_t feid;
  uint8_t event; /* 0x01 changed, 0x02 moved, 0x03 deleted, 0x04 opened, 0x05 closed */
  int mounted;
} nightos_fs_change;

typedef struct nightos__fs_state {
  int connected, have_fsid;
  uint64_t socket, fsid;
  int32_t error;
  int32_t dropped;
  uint32_t answer_len, args_len;
  uint8_t args[NIGHTOS__FS_MAX_ARGS];
  uint8_t answer[NIGHTOS__FS_MAX_ANSWER];
  nightos_fs_change queue[NIGHTOS__FS_MAX_QUEUED];
  uint32_t head, count;
  int32_t sleep_word;
} nightos__fs_state;
static nightos__fs_state nightos__fs;

/* The errcode of the last call that failed (0 after one that worked). */
static inline int32_t nightos_fs_error(void) { return nightos__fs.error; }
/* Notifications dropped: not understood, or past the queue's 256. */
static inline int32_t nightos_fs_dropped_notifications(void) { return nightos__fs.dropped; }

/* Connects to sys::fs (once; every call does it when needed). */
static inline int nightos_fs_connect(void) {
  if (nightos__fs.connected) return 1;
  /* ANID 0 names the system; the scope's 8 bytes hold the service's PID (docs/services.md). */
  uint8_t scope[8];
  nightos__put(scope, NIGHTOS_FS_PID, 8);
  nightos_connect_service_ret r;
  int32_t status = nightos_connect_service(0, 0, scope, 0, 0, &r);
  if (status != NIGHTOS_OK) {
    nightos__fs.error = NIGHTOS_FS_SDK_ERR_CONNECT | (status & 0xff);
    return 0;
  }
  nightos__fs.socket = r.socket;
  nightos__fs.connected = 1;
  return 1;
}

/* ---- the arguments ------------------------------------------------------------------------------ */

static inline int nightos__fs_room(uint32_t n) {
  return nightos__fs.args_len + n <= NIGHTOS__FS_MAX_ARGS;
}
static inline void nightos__fs_u8(uint8_t v) {
  if (nightos__fs_room(1)) nightos__fs.args[nightos__fs.args_len] = v;
  nightos__fs.args_len += 1;
}
static inline void nightos__fs_u64(uint64_t v) {
  if (nightos__fs_room(8)) nightos__put(nightos__fs.args + nightos__fs.args_len, v, 8);
  nightos__fs.args_len += 8;
}
/* A delimited string of `n` bytes (data-structures.md): its length (u64) then the bytes. */
static inline void nightos__fs_bytes(const char *s, uint64_t n) {
  nightos__fs_u64(n);
  if (nightos__fs_room((uint32_t)n))
    for (uint64_t i = 0; i < n; i++) nightos__fs.args[nightos__fs.args_len + i] = (uint8_t)s[i];
  nightos__fs.args_len += (uint32_t)n;
}
static inline void nightos__fs_string(const char *s) {
  uint64_t n = 0;
  while (s[n]) n++;
  nightos__fs_bytes(s, n);
}
/* A filesystem path of kind 0x02, a split path: the delimited list of the path's components. */
static inline void nightos__fs_path(const char *path) {
  nightos__fs_u8(0x02);
  uint32_t len_at = nightos__fs.args_len;
  nightos__fs_u64(0);
  uint32_t start = nightos__fs.args_len;
  uint64_t from = 0, i = 0;
  for (;; i++) {
    if (path[i] == 0 || path[i] == '/') {
      if (i > from) nightos__fs_bytes(path + from, i - from);
      from = i + 1;
      if (path[i] == 0) break;
    }
  }
  if (nightos__fs_room(0)) nightos__put(nightos__fs.args + len_at, nightos__fs.args_len - start, 8);
}
static inline void nightos__fs_begin(void) { nightos__fs.args_len = 0; }
static int nightos_fs_fsid(uint64_t *out);
/* The arguments of a method on the filesystem: its FSID first. */
static inline int nightos__fs_begin_fsid(void) {
  uint64_t id;
  if (!nightos_fs_fsid(&id)) return 0;
  nightos__fs_begin();
  nightos__fs_u64(id);
  return 1;
}

/* ---- calling ------------------------------------------------------------------------------------ */

static inline void nightos__fs_nap(int64_t us) {
  __builtin_wasm_memory_atomic_wait32(&nightos__fs.sleep_word, 0, us * 1000);
}

/* A notification of `len` bytes in the answer buffer, queued. ITEM_CHANGED and FS_CHANGED are told
 * apart by their datafield's size (READ_SOCK_MSG gives no code): 17 and 9 bytes (fs.md). */
static inline void nightos__fs_keep(uint32_t len) {
  const uint8_t *p = nightos__fs.answer;
  if ((len != 17 && len != 9) || nightos__fs.count >= NIGHTOS__FS_MAX_QUEUED) {
    nightos__fs.dropped++;
    return;
  }
  nightos_fs_change *c =
      &nightos__fs.queue[(nightos__fs.head + nightos__fs.count++) % NIGHTOS__FS_MAX_QUEUED];
  c->filesystem = len == 9;
  c->fsid = nightos__get(p + (len == 9 ? 1 : 0), 8);
  c->feid = len == 17 ? nightos__get(p + 8, 8) : 0;
  c->event = len == 17 ? p[16] : 0;
  c->mounted = len == 9 && p[0] == 0x01;
}

/* Calls `method` with the arguments built; 1 with the answer in the answer buffer. */
static inline int nightos__fs_call(uint16_t method) {
  if (!nightos_fs_connect()) return 0;
  if (nightos__fs.args_len > NIGHTOS__FS_MAX_ARGS) {
    nightos__fs.error = NIGHTOS_FS_SDK_ERR_TOO_LONG;
    return 0;
  }
  nightos_send_sock_msg_ret s;
  int32_t status = nightos_send_sock_msg(nightos__fs.socket, 0, method, 0,
                                         (uint64_t)(uintptr_t)nightos__fs.args,
                                         nightos__fs.args_len, &s);
  if (status != NIGHTOS_OK) {
    nightos__fs.error = NIGHTOS_FS_SDK_ERR_SEND | (status & 0xff);
    return 0;
  }
  int tries = 0;
  int64_t slice = 20;
  for (;;) {
    nightos_read_sock_msg_ret r;
    status = nightos_read_sock_msg(nightos__fs.socket, (uint64_t)(uintptr_t)nightos__fs.answer, &r);
    if (status != NIGHTOS_OK) {
      nightos__fs.error = NIGHTOS_FS_SDK_ERR_READ | (status & 0xff);
      return 0;
    }
    if (r.retrieved) {
      nightos__fs.answer_len = r.written;
      if (r.status & NIGHTOS__FS_STATUS_NEW_EXCHANGE) {
        nightos__fs_keep(r.written);
        continue;
      }
      if (r.status & NIGHTOS__FS_STATUS_ERROR) {
        nightos__fs.error = r.written >= 2 ? (int32_t)nightos__get(nightos__fs.answer, 2)
                                           : NIGHTOS_FS_SDK_ERR_BAD_ANSWER;
        return 0;
      }
      nightos__fs.error = 0;
      return 1;
    }
    /* Spin a little, then sleep 20 µs, doubling to 2 ms (as sdk/as/fs.ts). */
    if (++tries > 32) {
      nightos__fs_nap(slice);
      if (slice < 2000) slice *= 2;
    }
  }
}

/* ---- the answers -------------------------------------------------------------------------------- */

static inline int nightos__fs_bad(void) {
  nightos__fs.error = NIGHTOS_FS_SDK_ERR_BAD_ANSWER;
  return 0;
}
/* An option of a u64 (data-structures.md) at *at: -1 when absent. 0 if truncated. */
static inline int nightos__fs_option(uint64_t *at, int64_t *out) {
  if (*at + 1 > nightos__fs.answer_len) return 0;
  if (nightos__fs.answer[(*at)++] == 0) {
    *out = -1;
    return 1;
  }
  if (*at + 8 > nightos__fs.answer_len) return 0;
  *out = (int64_t)nightos__get(nightos__fs.answer + *at, 8);
  *at += 8;
  return 1;
}
static inline int nightos__fs_item_at(uint64_t *at, nightos_fs_item *item) {
  const uint8_t *p = nightos__fs.answer;
  int64_t skip;
  if (*at + 18 > nightos__fs.answer_len) return nightos__fs_bad();
  item->feid = nightos__get(p + *at, 8);
  item->type = p[*at + 8];
  item->flags = p[*at + 9];
  item->size = nightos__get(p + *at + 10, 8);
  *at += 18;
  if (!nightos__fs_option(at, &skip) || !nightos__fs_option(at, &skip) ||
      !nightos__fs_option(at, &item->modified_at) || !nightos__fs_option(at, &skip))
    return nightos__fs_bad();
  if (*at + 8 > nightos__fs.answer_len) return nightos__fs_bad();
  uint64_t n = nightos__get(p + *at, 8);
  *at += 8;
  if (*at + n > nightos__fs.answer_len) return nightos__fs_bad();
  item->name = (const char *)p + *at;
  item->name_len = n;
  *at += n;
  return 1;
}

/* ---- the methods -------------------------------------------------------------------------------- */

/* The home tree's FSID (ENUM_FS' first, asked once; it needs fs.filesystems.list, docs/sdk.md). */
static int nightos_fs_fsid(uint64_t *out) {
  if (!nightos__fs.have_fsid) {
    nightos__fs_begin();
    if (!nightos__fs_call(NIGHTOS_FS_METHOD_ENUM_FS)) return 0;
    if (nightos__fs.answer_len < 16 || nightos__get(nightos__fs.answer, 8) < 8) {
      nightos__fs.error = NIGHTOS_FS_SDK_ERR_NO_FSID;
      return 0;
    }
    nightos__fs.fsid = nightos__get(nightos__fs.answer + 8, 8);
    nightos__fs.have_fsid = 1;
  }
  *out = nightos__fs.fsid;
  return 1;
}
/* Uses `fsid` (known otherwise), so ENUM_FS is not asked. */
static inline void nightos_fs_use_fsid(uint64_t fsid) {
  nightos__fs.fsid = fsid;
  nightos__fs.have_fsid = 1;
}

/* ITEM_EXISTS: the item's type byte (NIGHTOS_FS_TYPE_*), or 0 when nothing (of that type) is there. */
static inline uint8_t nightos_fs_exists(const char *path, uint8_t type) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  nightos__fs_u8(type);
  if (!nightos__fs_call(NIGHTOS_FS_METHOD_ITEM_EXISTS) || nightos__fs.answer_len < 1) return 0;
  return nightos__fs.answer[0];
}
/* ITEM_METADATA of the item itself (a final symlink not followed). */
static inline int nightos_fs_stat(const char *path, nightos_fs_item *item) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  if (!nightos__fs_call(NIGHTOS_FS_METHOD_ITEM_METADATA)) return 0;
  uint64_t at = 0;
  return nightos__fs_item_at(&at, item);
}
/* READ_DIRECTORY; walk the items with nightos_fs_dir_next (until the next call). */
static inline int nightos_fs_list(const char *path, int hidden, nightos_fs_dir *dir) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  nightos__fs_u8(hidden ? 0x01 : 0x02);
  if (!nightos__fs_call(NIGHTOS_FS_METHOD_READ_DIRECTORY)) return 0;
  if (nightos__fs.answer_len < 8) return nightos__fs_bad();
  dir->at = 8;
  dir->end = 8 + nightos__get(nightos__fs.answer, 8);
  if (dir->end > nightos__fs.answer_len) return nightos__fs_bad();
  return 1;
}
/* The next item of a listing: 1 with `item`, 0 at the end (or a bad answer: nightos_fs_error()). */
static inline int nightos_fs_dir_next(nightos_fs_dir *dir, nightos_fs_item *item) {
  if (dir->at >= dir->end) return 0;
  return nightos__fs_item_at(&dir->at, item);
}
/* CREATE_DIRECTORY `name` in `parent`. */
static inline int nightos_fs_mkdir(const char *parent, const char *name) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(parent);
  nightos__fs_string(name);
  return nightos__fs_call(NIGHTOS_FS_METHOD_CREATE_DIRECTORY);
}
/* RENAME_ITEM: the item at `path` gets the filename `name`. */
static inline int nightos_fs_rename(const char *path, const char *name) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  nightos__fs_string(name);
  return nightos__fs_call(NIGHTOS_FS_METHOD_RENAME_ITEM);
}
/* DELETE_ITEM: to the trash, or permanently. */
static inline int nightos_fs_delete(const char *path, int permanently) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  nightos__fs_u8(permanently ? 0x02 : 0x01);
  return nightos__fs_call(NIGHTOS_FS_METHOD_DELETE_ITEM);
}
static inline uint64_t nightos__fs_opened(int read, int write) {
  nightos__fs_u8(read ? 0x01 : 0x00);
  nightos__fs_u8(write ? 0x01 : 0x00);
  if (!nightos__fs_call(NIGHTOS_FS_METHOD_OPEN_FILE)) return 0;
  if (nightos__fs.answer_len < 8) return (uint64_t)nightos__fs_bad();
  return nightos__get(nightos__fs.answer, 8);
}
/* OPEN_FILE of an existing file: its opened file ID, or 0. */
static inline uint64_t nightos_fs_open(const char *path, int read, int write) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_u8(0x00);
  nightos__fs_path(path);
  return nightos__fs_opened(read, write);
}
/* OPEN_FILE variant 0x01: the file `name` in `parent`, created empty if missing. */
static inline uint64_t nightos_fs_create(const char *parent, const char *name, int read, int write) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_u8(0x01);
  nightos__fs_path(parent);
  nightos__fs_string(name);
  return nightos__fs_opened(read, write);
}
/* CLOSE_FILE. */
static inline int nightos_fs_close(uint64_t file) {
  nightos__fs_begin();
  nightos__fs_u64(file);
  return nightos__fs_call(NIGHTOS_FS_METHOD_CLOSE_FILE);
}
static inline void nightos__fs_io(uint64_t file, uint64_t offset, const void *buf, uint64_t len) {
  nightos__fs_begin();
  nightos__fs_u64(file);
  nightos__fs_u64(offset);
  nightos__fs_u64(len);
  /* The buffer pointer (data-structures.md): the address, then the length. */
  nightos__fs_u64((uint64_t)(uintptr_t)buf);
  nightos__fs_u64(len);
}
/* READ_FILE: `len` bytes from `offset` into `buf` (the whole range must be in the file). */
static inline int nightos_fs_read(uint64_t file, uint64_t offset, void *buf, uint64_t len) {
  nightos__fs_io(file, offset, buf, len);
  return nightos__fs_call(NIGHTOS_FS_METHOD_READ_FILE);
}
/* WRITE_FILE: `len` bytes at `offset` (at most the file's end); `truncate` ends the file after them. */
static inline int nightos_fs_write(uint64_t file, uint64_t offset, const void *buf, uint64_t len,
                                   int truncate) {
  nightos__fs_io(file, offset, buf, len);
  nightos__fs_u8(truncate ? 0x01 : 0x02);
  return nightos__fs_call(NIGHTOS_FS_METHOD_WRITE_FILE);
}

/* ---- watching ------------------------------------------------------------------------------------ */

/* WATCH_ITEM: ITEM_CHANGED for the item at `path` until nightos_fs_unwatch(`watch`). */
static inline int nightos_fs_watch(const char *path, uint64_t watch) {
  if (!nightos__fs_begin_fsid()) return 0;
  nightos__fs_path(path);
  nightos__fs_u64(watch);
  return nightos__fs_call(NIGHTOS_FS_METHOD_WATCH_ITEM);
}
static inline int nightos_fs_unwatch(uint64_t watch) {
  nightos__fs_begin();
  nightos__fs_u64(watch);
  return nightos__fs_call(NIGHTOS_FS_METHOD_UNWATCH);
}
/* The next notification: a queued one, else one read within `wait_ms` (0: none; -1: wait for one). */
static inline int nightos_fs_next_change(int32_t wait_ms, nightos_fs_change *out) {
  if (!nightos_fs_connect()) return 0;
  int64_t waited = 0, slice = 20;
  while (nightos__fs.count == 0) {
    nightos_read_sock_msg_ret r;
    int32_t status =
        nightos_read_sock_msg(nightos__fs.socket, (uint64_t)(uintptr_t)nightos__fs.answer, &r);
    if (status != NIGHTOS_OK) {
      nightos__fs.error = NIGHTOS_FS_SDK_ERR_READ | (status & 0xff);
      return 0;
    }
    if (r.retrieved) {
      if (r.status & NIGHTOS__FS_STATUS_NEW_EXCHANGE) nightos__fs_keep(r.written);
      else nightos__fs.dropped++;
      continue;
    }
    if (wait_ms >= 0 && waited >= (int64_t)wait_ms * 1000) return 0;
    nightos__fs_nap(slice);
    waited += slice;
    if (slice < 5000) slice *= 2;
  }
  *out = nightos__fs.queue[nightos__fs.head];
  nightos__fs.head = (nightos__fs.head + 1) % NIGHTOS__FS_MAX_QUEUED;
  nightos__fs.count--;
  return 1;
}

#endif
