;; Test module for a skill: implements caro_classify_risk and finds every
;; command high risk, so a test can see its answer come back through pm.hook.
(module
  (memory (export "memory") 1)
  (data (i32.const 64) "[{\"level\":\"high\",\"rule\":\"custom.flag.all\",\"reason\":\"flagged by the test module\"}]")
  (func (export "caro_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "caro_classify_risk") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 81))))
