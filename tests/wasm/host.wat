;; Test module: calls each capability-gated host function.  The input is a JSON
;; string, so the path, variable name or endpoint is the input without its two
;; quotes.
;;   read   caro.read_file(path): the file as is (the tests store JSON in it)
;;   env    caro.env_get(name): the value as is (the tests set JSON values)
;;   write  caro.write_file(path, {"written":true}): the code as a JSON number
;;   ask    caro.request(endpoint, "PING\n"): the response as is (the test server answers JSON)
;; When the host refuses, the answer is its code as a JSON number: -1 denied,
;; -2 missing, unreadable or unreachable, -3 too large.
(module
  (import "caro" "read_file" (func $read_file (param i32 i32) (result i64)))
  (import "caro" "env_get" (func $env_get (param i32 i32) (result i64)))
  (import "caro" "write_file" (func $write_file (param i32 i32 i32 i32) (result i32)))
  (import "caro" "request" (func $request (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "-1-2-3")
  (data (i32.const 32) "0")
  (data (i32.const 48) "{\"written\":true}")   ;; 16 bytes
  (data (i32.const 80) "PING\n")               ;; 5 bytes
  (global $next (mut i32) (i32.const 1024))

  ;; A bump allocator: every call runs in a fresh instance, so nothing is freed.
  (func (export "caro_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (block $fits
      (loop $grow
        (br_if $fits (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (return (i32.const 0))))
        (br $grow)))
    (local.get $ptr))

  (func (export "read") (param $ptr i32) (param $len i32) (result i64)
    (call $answer (call $read_file (i32.add (local.get $ptr) (i32.const 1))
                                   (i32.sub (local.get $len) (i32.const 2)))))

  (func (export "env") (param $ptr i32) (param $len i32) (result i64)
    (call $answer (call $env_get (i32.add (local.get $ptr) (i32.const 1))
                                 (i32.sub (local.get $len) (i32.const 2)))))

  (func (export "write") (param $ptr i32) (param $len i32) (result i64)
    (local $code i32)
    (local.set $code (call $write_file (i32.add (local.get $ptr) (i32.const 1))
                                       (i32.sub (local.get $len) (i32.const 2))
                                       (i32.const 48) (i32.const 16)))
    (if (result i64) (i32.eqz (local.get $code))
      (then (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 1)))      ;; "0"
      (else (call $answer (i64.extend_i32_s (local.get $code))))))

  (func (export "ask") (param $ptr i32) (param $len i32) (result i64)
    (call $answer (call $request (i32.add (local.get $ptr) (i32.const 1))
                                 (i32.sub (local.get $len) (i32.const 2))
                                 (i32.const 80) (i32.const 5))))

  ;; A buffer is answered as is; code -n is the two bytes at 16 + 2 * (n - 1).
  (func $answer (param $result i64) (result i64)
    (if (result i64) (i64.ge_s (local.get $result) (i64.const 0))
      (then (local.get $result))
      (else (i64.or
        (i64.shl (i64.add (i64.const 16)
                          (i64.mul (i64.const 2) (i64.sub (i64.sub (i64.const 0) (local.get $result))
                                                           (i64.const 1))))
                 (i64.const 32))
        (i64.const 2))))))
