;; The hello example's program, in the CommonAssembly text format (docs/commonassembly.md).
;; It asks the kernel who it is and why it was started, reads its command-line arguments,
;; tells the kernel it is ready for signals, and exits with the number of arguments it got.
;; Run it with `ncw run --trace` to see each system call decoded. The build (scripts/build-examples.mjs)
;; assembles it into main.npp with `ncw ca asm` and packs the folder into dist/examples/hello.nap.
(module
  (import "nightos" "syscall" (func $syscall (param i32 i32 i32) (result i32)))
  ;; Addresses 0..1023 belong to the runtime (ABI 1.0). 0x400: request, 0x500: return value,
  ;; 0x600: startup reason, 0x10000..0x1FFFF: the argument block (at most 64 KiB).
  (memory (export "memory") 3 16 shared)
  (table (export "__indirect_function_table") 0 funcref)

  ;; Fails the program (exit data 0xFF) if a system call returned an error.
  (func $ok (param $status i32)
    (if (local.get $status) (then
      (i32.store8 (i32.const 0x400) (i32.const 0x5F))          ;; EXIT
      (i64.store (i32.const 0x401) (i64.const 0xFF))           ;; exit data
      (drop (call $syscall (i32.const 0x400) (i32.const 9) (i32.const 0x500))))))

  ;; EXECUTION_CONTEXT(info, buffer) -> number of bytes written
  (func $context (param $info i32) (param $buffer i32) (result i64)
    (i32.store8 (i32.const 0x400) (i32.const 0xA0))
    (i32.store8 (i32.const 0x401) (local.get $info))
    (i64.store (i32.const 0x402) (i64.extend_i32_u (local.get $buffer)))  ;; pointers are 8 bytes
    (call $ok (call $syscall (i32.const 0x400) (i32.const 10) (i32.const 0x500)))
    (i64.load (i32.const 0x500)))

  (func (export "_start")
    (local $count i64)
    ;; GET_PID
    (i32.store8 (i32.const 0x400) (i32.const 0x53))
    (call $ok (call $syscall (i32.const 0x400) (i32.const 1) (i32.const 0x500)))
    ;; the startup reason, then the whole context header
    (drop (call $context (i32.const 0x01) (i32.const 0x600)))
    (drop (call $context (i32.const 0x02) (i32.const 0x700)))
    ;; the argument block: the header's argument count is at offset 20 (docs/kernel.md)
    (drop (call $context (i32.const 0x03) (i32.const 0x10000)))
    (local.set $count (i64.load8_u (i32.const 0x714)))
    ;; READY: signals may now be delivered
    (i32.store8 (i32.const 0x400) (i32.const 0x04))
    (call $ok (call $syscall (i32.const 0x400) (i32.const 1) (i32.const 0x500)))
    ;; EXIT with the number of arguments as exit data
    (i32.store8 (i32.const 0x400) (i32.const 0x5F))
    (i64.store (i32.const 0x401) (local.get $count))
    (drop (call $syscall (i32.const 0x400) (i32.const 9) (i32.const 0x500)))))
