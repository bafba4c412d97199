;; tool.kubernetes guardrail: Layer 3 of ADR-004, in WebAssembly text.
;;
;; Implements caro_classify_risk under Caro's skill ABI (docs/skills_wasm.md):
;; JSON in at (ptr, len), the packed (ptr << 32 | len) of a JSON answer out.
;; The host writes compact JSON in which every simple command begins
;;   {"program":"kubectl","argv":["kubectl", ...
;; so the module looks for that prefix and reads the argv strings that follow
;; instead of parsing JSON in full.  For each kubectl command it finds:
;;   delete + namespace | namespaces | ns (alone or as ns/NAME)  -> critical
;;   delete + --all | --all-namespaces | -A                      -> critical
;; ("delete" anywhere after the program: a guardrail errs on the safe side;
;; Caro's built-in rule already rates these high.)  No answer (0) otherwise.
;;
;; Build: python build.py, which writes guard.wasm with wasmtime.wat2wasm.
(module
  (memory (export "memory") 1)

  (data (i32.const 256) "{\"program\":\"kubectl\",\"argv\":[")     ;; 29 bytes
  (data (i32.const 285) "delete")                                 ;; 6
  (data (i32.const 291) "namespace")                              ;; 9
  (data (i32.const 300) "namespaces")                             ;; 10
  (data (i32.const 310) "ns")                                     ;; 2
  (data (i32.const 336) "--all")                                  ;; 5
  (data (i32.const 341) "--all-namespaces")                       ;; 16
  (data (i32.const 357) "-A")                                     ;; 2
  (data (i32.const 359) "{\"level\":\"critical\",\"rule\":\"tool.kubernetes.delete-namespace\",\"reason\":\"kubectl delete namespace removes the namespace and every object in it, with no undo\"}")  ;; 157
  (data (i32.const 516) "{\"level\":\"critical\",\"rule\":\"tool.kubernetes.delete-all\",\"reason\":\"kubectl delete --all or --all-namespaces removes every matching object, with no undo\"}")  ;; 152

  ;; The heap starts after the constants.  A bump allocator is enough: every
  ;; call runs in a fresh instance.
  (global $next (mut i32) (i32.const 1024))
  ;; Where the last argv scanned ends (set by $scan_argv).
  (global $after (mut i32) (i32.const 0))

  (func $alloc (export "caro_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $next))
    (global.set $next (i32.add (local.get $ptr) (local.get $len)))
    (block $fits
      (loop $grow
        (br_if $fits (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then (return (i32.const 0))))
        (br $grow)))
    (local.get $ptr))

  ;; 1 when the n bytes at a and at b are equal.
  (func $same (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ
      (loop $byte
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $byte)))
    (i32.const 0))

  ;; 1 when the token (p, n) is exactly the word (w, wn).
  (func $is (param $p i32) (param $n i32) (param $w i32) (param $wn i32) (result i32)
    (if (result i32) (i32.eq (local.get $n) (local.get $wn))
      (then (call $same (local.get $p) (local.get $w) (local.get $n)))
      (else (i32.const 0))))

  ;; 1 when the token (p, n) names the resource kind (w, wn), alone or as KIND/NAME.
  (func $kind (param $p i32) (param $n i32) (param $w i32) (param $wn i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $n) (local.get $wn))
      (then (if (result i32) (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $wn)))
                                     (i32.const 47))                       ;; '/'
              (then (call $same (local.get $p) (local.get $w) (local.get $wn)))
              (else (i32.const 0))))
      (else (call $is (local.get $p) (local.get $n) (local.get $w) (local.get $wn)))))

  ;; The index just past the command prefix at or after p, or 0 when there is none.
  (func $find (param $p i32) (param $end i32) (result i32)
    (block $none
      (loop $at
        (br_if $none (i32.gt_u (i32.add (local.get $p) (i32.const 29)) (local.get $end)))
        (if (call $same (local.get $p) (i32.const 256) (i32.const 29))
          (then (return (i32.add (local.get $p) (i32.const 29)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $at)))
    (i32.const 0))

  ;; The index of the quote closing the JSON string whose text starts at p.
  (func $string_end (param $p i32) (param $end i32) (result i32)
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))      ;; '"'
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 92))                 ;; '\': skip the next byte
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (local.get $p))

  ;; What the argv strings from p say: 1 delete, 2 a namespace kind, 4 an all-flag.
  (func $scan_argv (param $p i32) (param $end i32) (result i32)
    (local $flags i32) (local $q i32) (local $n i32) (local $first i32)
    (local.set $first (i32.const 1))
    (block $done
      (loop $token
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))       ;; ']' ends argv
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $q (call $string_end (local.get $p) (local.get $end)))
        (local.set $n (i32.sub (local.get $q) (local.get $p)))
        (if (i32.eqz (local.get $first)) (then
          (if (call $is (local.get $p) (local.get $n) (i32.const 285) (i32.const 6))
            (then (local.set $flags (i32.or (local.get $flags) (i32.const 1)))))
          (if (i32.or (i32.or (call $kind (local.get $p) (local.get $n) (i32.const 291) (i32.const 9))
                              (call $kind (local.get $p) (local.get $n) (i32.const 300) (i32.const 10)))
                      (call $kind (local.get $p) (local.get $n) (i32.const 310) (i32.const 2)))
            (then (local.set $flags (i32.or (local.get $flags) (i32.const 2)))))
          (if (i32.or (i32.or (call $is (local.get $p) (local.get $n) (i32.const 336) (i32.const 5))
                              (call $is (local.get $p) (local.get $n) (i32.const 341) (i32.const 16)))
                      (call $is (local.get $p) (local.get $n) (i32.const 357) (i32.const 2)))
            (then (local.set $flags (i32.or (local.get $flags) (i32.const 4)))))))
        (local.set $first (i32.const 0))
        (local.set $p (i32.add (local.get $q) (i32.const 1)))                     ;; past the quote
        (if (i32.lt_u (local.get $p) (local.get $end))
          (then (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))          ;; and a ','
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))))
        (br $token)))
    (global.set $after (local.get $p))
    (local.get $flags))

  (func (export "caro_classify_risk") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $p i32) (local $flags i32) (local $found i32) (local $out i32) (local $o i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $p (local.get $ptr))
    (block $done
      (loop $command
        (local.set $p (call $find (local.get $p) (local.get $end)))
        (br_if $done (i32.eqz (local.get $p)))
        (local.set $flags (call $scan_argv (local.get $p) (local.get $end)))
        (if (i32.eq (i32.and (local.get $flags) (i32.const 3)) (i32.const 3))
          (then (local.set $found (i32.or (local.get $found) (i32.const 1)))))
        (if (i32.eq (i32.and (local.get $flags) (i32.const 5)) (i32.const 5))
          (then (local.set $found (i32.or (local.get $found) (i32.const 2)))))
        (local.set $p (global.get $after))
        (br $command)))
    (if (i32.eqz (local.get $found)) (then (return (i64.const 0))))
    ;; The answer: "[" finding ("," finding) "]", at most 312 bytes.
    (local.set $out (call $alloc (i32.const 312)))
    (if (i32.eqz (local.get $out)) (then unreachable))
    (local.set $o (local.get $out))
    (i32.store8 (local.get $o) (i32.const 91))                                    ;; '['
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (if (i32.and (local.get $found) (i32.const 1)) (then
      (memory.copy (local.get $o) (i32.const 359) (i32.const 157))
      (local.set $o (i32.add (local.get $o) (i32.const 157)))))
    (if (i32.eq (local.get $found) (i32.const 3)) (then
      (i32.store8 (local.get $o) (i32.const 44))                                  ;; ','
      (local.set $o (i32.add (local.get $o) (i32.const 1)))))
    (if (i32.and (local.get $found) (i32.const 2)) (then
      (memory.copy (local.get $o) (i32.const 516) (i32.const 152))
      (local.set $o (i32.add (local.get $o) (i32.const 152)))))
    (i32.store8 (local.get $o) (i32.const 93))                                    ;; ']'
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out))))))
