/* The fsdemo example (examples/fsdemo/manifest.toml): a C app on sys::fs through the C SDK
 * (sdk/c/nightos_fs.h; docs/sdk.md "sys::fs"). It writes /home/user/appdata/ncwdemo.fsdemo/hello.txt,
 * reads it back and prints it, lists the folder (a name per line, "/" after a folder's) and returns how
 * many entries it holds. */
#include "nightos_command.h"
#include "nightos_fs.h"

#define AREA "/home/user/appdata/ncwdemo.fsdemo"

static void check(int ok, const char *what) {
  if (!ok) {
    nightos_print_error(what);
    nightos_println_error(" failed");
    nightos_fatal("fsdemo: a sys::fs call failed");
  }
}

void _start(void) {
  static const char text[] = "hi from C";
  uint64_t f = nightos_fs_create(AREA, "hello.txt", 0, 1);
  check(f != 0, "OPEN_FILE");
  check(nightos_fs_write(f, 0, text, sizeof text - 1, 1), "WRITE_FILE");
  check(nightos_fs_close(f), "CLOSE_FILE");
  nightos_fs_item item;
  check(nightos_fs_stat(AREA "/hello.txt", &item), "ITEM_METADATA");
  static char back[64];
  uint64_t size = item.size;
  f = nightos_fs_open(AREA "/hello.txt", 1, 0);
  check(f != 0 && size < sizeof back, "OPEN_FILE for reading");
  check(nightos_fs_read(f, 0, back, size), "READ_FILE");
  check(nightos_fs_close(f), "CLOSE_FILE");
  nightos_print_n(back, size);
  nightos_println("");
  nightos_fs_dir dir;
  check(nightos_fs_list(AREA, 0, &dir), "READ_DIRECTORY");
  int64_t n = 0;
  while (nightos_fs_dir_next(&dir, &item)) {
    nightos_print_n(item.name, item.name_len);
    nightos_println(item.type == NIGHTOS_FS_TYPE_DIRECTORY ? "/" : "");
    n++;
  }
  check(nightos_fs_error() == 0, "walking the listing");
  nightos_return_int(n);
}
