;; Test module for a skill: its caro_classify_risk never returns, so only fuel stops it.
(module
  (memory (export "memory") 1)
  (func (export "caro_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "caro_classify_risk") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
