;; Test module: wants a socket.  Caro offers no such import, so loading refuses it.
(module
  (import "wasi_snapshot_preview1" "sock_open" (func $sock_open (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "caro_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "caro_classify_risk") (param i32 i32) (result i64)
    (drop (call $sock_open (i32.const 2) (i32.const 1) (i32.const 0)))
    (i64.const 0)))
