;; The counter example (examples/counter/manifest.toml; docs/crash-saves.md): a NightOS app that supports
;; crash saves, written against the raw ABI (docs/commonassembly.md). It connects to sys::fs (PID 10) and
;; sys::crashsave (PID 16) — system services are ANID 0 with their PID as the scope (docs/services.md) —
;; then counts one tick per 100 ms. On CRASH_SAVE_COLLECTION it writes its counter (8 bytes, LE) into the
;; temporary FEID it is given and answers 0x00; after a crash (startup reason bit 4) it waits for
;; RESTORE_CRASH_SAVE, reads the counter back from that FEID, answers "restored, keep it" and resumes.
;; After 50 ticks it exits with the value it started from as exit data.
;;
;; Memory: 0x1000 syscall request, 0x2000 syscall return, 0x3000 state, 0x5000 notification data,
;; 0x6000 sys::fs arguments, 0x6100 sys::fs answers, 0x7000 notification answers.
(module
  (import "nightos" "syscall" (func $sys (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2 64 shared)
  (table (export "__indirect_function_table") 4 funcref)
  (elem (i32.const 2) $onmsg)

  ;; ---- state
  ;; 0x3000 a sys::crashsave notification arrived (i32), 0x3008 its exchange (i64), 0x3010 its code (i32)
  ;; 0x3020 a sys::fs answer arrived (i32); 0x3040 the counter (i64); 0x3048 sys::fs socket;
  ;; 0x3050 sys::crashsave socket; 0x3058 the starting value; 0x3070 the startup reason byte
  (global $CS_FLAG i32 (i32.const 0x3000))
  (global $FS_FLAG i32 (i32.const 0x3020))

  ;; ---- syscalls: the request at 0x1000 (code byte, then the arguments), the return at 0x2000
  (func $b (param $off i32) (param $v i32) (i32.store8 (i32.add (i32.const 0x1000) (local.get $off)) (local.get $v)))
  (func $h (param $off i32) (param $v i32) (i32.store16 (i32.add (i32.const 0x1000) (local.get $off)) (local.get $v)))
  (func $q (param $off i32) (param $v i64) (i64.store (i32.add (i32.const 0x1000) (local.get $off)) (local.get $v)))
  (func $call (param $code i32) (param $len i32) (result i32)
    (call $b (i32.const 0) (local.get $code))
    (call $sys (i32.const 0x1000) (local.get $len) (i32.const 0x2000)))
  ;; EXIT (0x5F) with exit data $v
  (func $exit (param $v i64)
    (call $q (i32.const 1) (local.get $v))
    (drop (call $call (i32.const 0x5f) (i32.const 9)))
    unreachable)
  ;; a failed step ends the program with exit data 200 + $id
  (func $must (param $id i32) (param $status i32)
    (if (local.get $status) (then (call $exit (i64.extend_i32_u (i32.add (i32.const 200) (local.get $id)))))))

  ;; sleep about $ms milliseconds (a wait no one wakes, in 10 ms slices: safepoints between them)
  (func $sleep (param $ms i32)
    (loop $l
      (if (i32.gt_s (local.get $ms) (i32.const 0))
        (then
          (drop (memory.atomic.wait32 (i32.const 0x3f00) (i32.const 0) (i64.const 10000000)))
          (local.set $ms (i32.sub (local.get $ms) (i32.const 10)))
          (br $l)))))

  ;; RECV_SOCK_MSG's handler. Datafield: socket u64, exchange u64, method u16, size u32, status u8.
  (func $onmsg (param $sig i32) (param $df i32) (result i64)
    (if (i64.eq (i64.load (local.get $df)) (i64.load (i32.const 0x3050)))
      (then
        (i64.store (i32.const 0x3008) (i64.load offset=8 (local.get $df)))
        (i32.store (i32.const 0x3010) (i32.load16_u offset=16 (local.get $df)))
        (i32.atomic.store (global.get $CS_FLAG) (i32.const 1)))
      (else (i32.atomic.store (global.get $FS_FLAG) (i32.const 1))))
    (i64.const 0))

  ;; CONNECT_SERVICE (0x2A) to the system service at $pid: ANID 0, main target, the PID as the scope
  (func $connect (param $id i32) (param $pid i64) (result i64)
    (i32.store (i32.const 0x1001) (i32.const 0))
    (call $b (i32.const 5) (i32.const 0))
    (i64.store (i32.const 0x1006) (local.get $pid))
    (call $h (i32.const 14) (i32.const 0))
    (call $b (i32.const 16) (i32.const 0))
    (call $must (local.get $id) (call $call (i32.const 0x2a) (i32.const 17)))
    (i64.load (i32.const 0x2008)))

  ;; SEND_SOCK_MSG (0x27): socket, exchange (0: a new one), method or close indicator, error 0, buffer
  (func $send (param $s i64) (param $x i64) (param $m i32) (param $buf i32) (param $len i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (local.get $x))
    (call $h (i32.const 17) (local.get $m)) (call $h (i32.const 19) (i32.const 0))
    (call $q (i32.const 21) (i64.extend_i32_u (local.get $buf))) (call $q (i32.const 29) (i64.extend_i32_u (local.get $len)))
    (call $call (i32.const 0x27) (i32.const 37)))
  ;; READ_SOCK_MSG (0x28) into $buf; the return: written u32, retrieved u8, status u8
  (func $read (param $s i64) (param $buf i32) (result i32)
    (call $q (i32.const 1) (local.get $s)) (call $q (i32.const 9) (i64.extend_i32_u (local.get $buf)))
    (call $call (i32.const 0x28) (i32.const 17)))

  ;; call sys::fs method $m with $len bytes of arguments at 0x6000; the answer at 0x6100. 0: answered;
  ;; 1: an error answer (its errcode at 0x6100)
  (func $fs (param $id i32) (param $m i32) (param $len i32) (result i32)
    (i32.atomic.store (global.get $FS_FLAG) (i32.const 0))
    (call $must (local.get $id) (call $send (i64.load (i32.const 0x3048)) (i64.const 0) (local.get $m) (i32.const 0x6000) (local.get $len)))
    (loop $wait (if (i32.eqz (i32.atomic.load (global.get $FS_FLAG))) (then (call $sleep (i32.const 5)) (br $wait))))
    (call $must (local.get $id) (call $read (i64.load (i32.const 0x3048)) (i32.const 0x6100)))
    (i32.ne (i32.and (i32.load8_u (i32.const 0x2005)) (i32.const 0x02)) (i32.const 0)))

  ;; OPEN_FILE (0x4000) of the temporary FEID $feid: FSID (not checked for a temporary FEID), variant 0
  ;; (an existing path), path kind 0x01 (a FEID), the access bytes. The opened file's ID, or 0.
  (func $open (param $feid i64) (param $read i32) (param $write i32) (result i64)
    (i64.store (i32.const 0x6000) (i64.const 0))
    (i32.store8 (i32.const 0x6008) (i32.const 0x00))
    (i32.store8 (i32.const 0x6009) (i32.const 0x01))
    (i64.store (i32.const 0x600a) (local.get $feid))
    (i32.store8 (i32.const 0x6012) (local.get $read))
    (i32.store8 (i32.const 0x6013) (local.get $write))
    (if (result i64) (call $fs (i32.const 10) (i32.const 0x4000) (i32.const 20))
      (then (i64.const 0)) (else (i64.load (i32.const 0x6100)))))
  ;; READ_FILE (0x4002) / WRITE_FILE (0x4003) of the counter's 8 bytes at offset 0; 0 when it worked
  (func $io (param $m i32) (param $file i64) (result i32)
    (i64.store (i32.const 0x6000) (local.get $file))
    (i64.store (i32.const 0x6008) (i64.const 0))
    (i64.store (i32.const 0x6010) (i64.const 8))
    (i64.store (i32.const 0x6018) (i64.const 0x3040))
    (i64.store (i32.const 0x6020) (i64.const 8))
    ;; WRITE_FILE's truncate boolean (0x01: true)
    (i32.store8 (i32.const 0x6028) (i32.const 0x01))
    (call $fs (i32.const 11) (local.get $m) (select (i32.const 41) (i32.const 40) (i32.eq (local.get $m) (i32.const 0x4003)))))
  (func $close (param $file i64)
    (i64.store (i32.const 0x6000) (local.get $file))
    (drop (call $fs (i32.const 12) (i32.const 0x4001) (i32.const 8))))

  ;; answer the pending sys::crashsave notification with $len bytes at 0x7000 (close indicator 1)
  (func $reply (param $len i32)
    (call $must (i32.const 13) (call $send (i64.load (i32.const 0x3050)) (i64.load (i32.const 0x3008)) (i32.const 1) (i32.const 0x7000) (local.get $len))))

  ;; CRASH_SAVE_COLLECTION: answer within u8, last crash save u64, unanswered u8, then the FEID (at 10)
  (func $collect
    (local $file i64)
    (local.set $file (call $open (i64.load (i32.const 0x500a)) (i32.const 0x00) (i32.const 0x01)))
    ;; status 0x00 written, 0x02 could not; no log message (option 0x00)
    (i32.store8 (i32.const 0x7000) (i32.const 0x02))
    (i32.store8 (i32.const 0x7001) (i32.const 0x00))
    (if (i64.ne (local.get $file) (i64.const 0))
      (then
        (if (i32.eqz (call $io (i32.const 0x4003) (local.get $file)))
          (then (i32.store8 (i32.const 0x7000) (i32.const 0x00))))
        (call $close (local.get $file))))
    (call $reply (i32.const 2)))

  ;; RESTORE_CRASH_SAVE: FEID u64, collected at u64, written at u64, interrupted u8, crashed u8
  (func $restore
    (local $file i64) (local $saved i64)
    (local.set $saved (i64.load (i32.const 0x3040)))
    ;; @restore-hook (test/crashsave.test.ts puts a crashing restoration here)
    (local.set $file (call $open (i64.load (i32.const 0x5000)) (i32.const 0x01) (i32.const 0x00)))
    ;; status 0x01 restored / 0x02 corrupted; 0x01: keep the crash save (until the next collection)
    (i32.store8 (i32.const 0x7000) (i32.const 0x02))
    (i32.store8 (i32.const 0x7001) (i32.const 0x01))
    (if (i64.ne (local.get $file) (i64.const 0))
      (then
        (if (i32.eqz (call $io (i32.const 0x4002) (local.get $file)))
          (then
            (i32.store8 (i32.const 0x7000) (i32.const 0x01))
            (i64.store (i32.const 0x3058) (i64.load (i32.const 0x3040))))
          (else (i64.store (i32.const 0x3040) (local.get $saved))))
        (call $close (local.get $file))))
    (call $reply (i32.const 2)))

  ;; a sys::crashsave notification, if one arrived: read it and act on its code
  (func $notified (result i32)
    (if (i32.eqz (i32.atomic.load (global.get $CS_FLAG))) (then (return (i32.const 0))))
    (i32.atomic.store (global.get $CS_FLAG) (i32.const 0))
    (call $must (i32.const 14) (call $read (i64.load (i32.const 0x3050)) (i32.const 0x5000)))
    (if (i32.eq (i32.load (i32.const 0x3010)) (i32.const 0x0100)) (then (call $collect)))
    ;; RESTORE_CRASH_SAVE comes only to a start after a crash (crashsave.md): trusted only with bit 4
    (if (i32.eq (i32.load (i32.const 0x3010)) (i32.const 0x0200))
      (then
        (if (i32.and (i32.load8_u (i32.const 0x3070)) (i32.const 0x08))
          (then (call $restore) (return (i32.const 2))))
        ;; not expected: "corrupted or invalid", kept
        (i32.store8 (i32.const 0x7000) (i32.const 0x02))
        (i32.store8 (i32.const 0x7001) (i32.const 0x01))
        (call $reply (i32.const 2))))
    (i32.const 1))

  (func (export "_start")
    (local $ticks i32) (local $wait i32)
    ;; RECV_SOCK_MSG (0x27) to handler 2; READY (0x04)
    (call $b (i32.const 1) (i32.const 0x27)) (call $q (i32.const 2) (i64.const 2))
    (call $must (i32.const 1) (call $call (i32.const 0x01) (i32.const 10)))
    (call $must (i32.const 2) (call $call (i32.const 0x04) (i32.const 1)))
    ;; the startup reason (EXECUTION_CONTEXT 0xA0, information 0x01) at 0x3070
    (call $b (i32.const 1) (i32.const 0x01)) (call $q (i32.const 2) (i64.const 0x3070))
    (call $must (i32.const 3) (call $call (i32.const 0xa0) (i32.const 10)))
    (i64.store (i32.const 0x3048) (call $connect (i32.const 4) (i64.const 10)))
    (i64.store (i32.const 0x3050) (call $connect (i32.const 5) (i64.const 16)))
    ;; bit 4 (0x08): started after a crash — wait (up to 5 s) for the crash save before counting
    (if (i32.and (i32.load8_u (i32.const 0x3070)) (i32.const 0x08))
      (then
        (local.set $wait (i32.const 500))
        (loop $restoring
          (if (i32.ne (call $notified) (i32.const 2))
            (then
              (call $sleep (i32.const 10))
              (local.set $wait (i32.sub (local.get $wait) (i32.const 1)))
              (br_if $restoring (i32.gt_s (local.get $wait) (i32.const 0))))))))
    (loop $tick
      (drop (call $notified))
      (i64.store (i32.const 0x3040) (i64.add (i64.load (i32.const 0x3040)) (i64.const 1)))
      (call $sleep (i32.const 100))
      (local.set $ticks (i32.add (local.get $ticks) (i32.const 1)))
      (br_if $tick (i32.lt_u (local.get $ticks) (i32.const 50))))
    (call $exit (i64.load (i32.const 0x3058)))))
