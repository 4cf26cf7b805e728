;; The hello example's program: a minimal CommonAssembly module (docs/commonassembly.md).
;; It only returns from _start (EXIT with exit data 0). main.npp is built from it with:
;;   ncw ca asm examples/hello/src/main.wat -o examples/hello/main.npp
(module
  (memory (export "memory") 1 16 shared)
  (table (export "__indirect_function_table") 0 funcref)
  (func (export "_start")))
