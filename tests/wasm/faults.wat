;; Test module: one export per way a module can misbehave, and one that behaves.
;;   ok      answers the JSON {"ok":true}
;;   spin    loops forever (stopped by fuel)
;;   hog     grows its memory until it cannot, then aborts like a real allocator
;;   trap    divides by zero
;;   big     claims a 1 GiB answer (over the output limit)
;;   garbage answers bytes that are not JSON
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{\"ok\":true}")
  (data (i32.const 32) "not json")
  (func (export "caro_alloc") (param i32) (result i32) (i32.const 1024))

  (func (export "ok") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 11)))

  (func (export "spin") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0))

  (func (export "hog") (param i32 i32) (result i64)
    (loop $more
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
      (br $more))
    (i64.const 0))

  (func (export "trap") (param i32 i32) (result i64)
    (i64.extend_i32_s (i32.div_s (i32.const 1) (i32.sub (local.get 1) (local.get 1)))))

  (func (export "big") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 1073741824)))

  (func (export "garbage") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 8))))
