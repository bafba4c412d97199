;; Test module for a skill: caro_classify_category answers the command's "text"
;; field, the JSON string that ends the input ({…,"text":"…"}), so a test can see
;; exactly what the module was shown.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\"text\":")                        ;; 7 bytes
  (global $next (mut i32) (i32.const 1024))

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

  ;; 1 when the 7 bytes at p are "text": (the eighth byte of the constant is 0)
  (func $key_at (param $p i32) (result i32)
    (i64.eq (i64.and (i64.load (local.get $p)) (i64.const 0x00FFFFFFFFFFFFFF))
            (i64.load (i32.const 16))))

  (func (export "caro_classify_category") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $start i32)
    ;; from the end, back to the last "text": key
    (local.set $p (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 8)))
    (block $found
      (loop $back
        (br_if $found (call $key_at (local.get $p)))
        (if (i32.le_u (local.get $p) (local.get $ptr)) (then (return (i64.const 0))))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $back)))
    ;; the string value: after the key, up to the closing brace
    (local.set $start (i32.add (local.get $p) (i32.const 7)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $start)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 1))
                                       (local.get $start))))))
