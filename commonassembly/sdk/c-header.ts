// Generates sdk/c/nightos.h, the C SDK header: the ABI's imports and constants (abi/wasm-names.ts) and one
// wrapper per syscall, packed as docs/commonassembly.md §4 says, from the kernel's declarative syscall
// table (commonassembly/abi/syscalls.ts), so the spec's layouts live in one place.
// Regenerate: node dist/commonassembly/sdk/c-header.js > sdk/c/nightos.h

import { pathToFileURL } from "node:url";
import type { Codec } from "../abi/codec.js";
import { GenericErr, Sig } from "../abi/numbers.js";
import { FORK_SYSCALLS, NEW_THREAD_SYSCALLS, SYSCALLS, type SyscallDef } from "../abi/syscalls.js";
import {
  ABI_VERSION_MAJOR,
  ABI_VERSION_MINOR,
  CTL_FORK_BUFFER_LENGTH_OFFSET,
  CTL_FORK_BUFFER_OFFSET,
  NEW_THREAD_RET_OFFSET,
  SIGNAL_DATAFIELD_SIZE,
  SYSCALL_ERROR_FLAG,
  SYSCALL_RET_SIZE,
  SYSCALL_STATUS_NEW_THREAD,
  THREAD_RET_SIZE,
} from "../abi/wasm-names.js";
import { SDK_CONSTANT_GROUPS } from "./constants.js";

interface CField {
  name: string;
  /** Size in bytes of the packed field. */
  size: number;
  kind: "uint" | "bufptr" | "bytes";
}

function fieldsOf(codec: Codec<unknown>): CField[] | undefined {
  const fields = (codec as { fields?: readonly (readonly [string, Codec<unknown>])[] }).fields;
  if (fields === undefined) return undefined;
  return fields.map(([name, c]) => {
    const snake = name.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
    if (c.layout === "bufptr") return { name: snake, size: 16, kind: "bufptr" };
    if (/^(u8|u16|u32|u64|i64)$/.test(c.layout)) return { name: snake, size: c.size, kind: "uint" };
    if (c.layout.startsWith("bytes[")) return { name: snake, size: c.size, kind: "bytes" };
    throw new Error(`unsupported field layout ${c.layout} in ${name}`);
  });
}

const ctype = (size: number) => `uint${size * 8}_t`;
const lower = (s: string) => s.toLowerCase();

/** The statements that copy the packed return fields at `ret` into `*out`. */
function retFields(rets: CField[], indent: string): string[] {
  const lines: string[] = [];
  let off = 0;
  for (const f of rets) {
    if (f.kind === "uint")
      lines.push(
        `${indent}out->${f.name} = (${ctype(f.size)})nightos__get(ret + ${off}, ${f.size});`,
      );
    else if (f.kind === "bufptr")
      lines.push(
        `${indent}out->${f.name}_addr = nightos__get(ret + ${off}, 8);`,
        `${indent}out->${f.name}_len = nightos__get(ret + ${off + 8}, 8);`,
      );
    else
      lines.push(
        `${indent}for (int i = 0; i < ${f.size}; i++) out->${f.name}[i] = ret[${off} + i];`,
      );
    off += f.size;
  }
  return lines;
}

function wrapper(d: SyscallDef): string {
  const args = d.args.size < 0 ? undefined : fieldsOf(d.args as Codec<unknown>);
  const rets = fieldsOf(d.ret);
  const name = lower(d.name);
  const code = `0x${d.code.toString(16).padStart(2, "0").toUpperCase()}`;
  const lines: string[] = [];
  const errors = Object.entries(d.errors)
    .map(([n, c]) => `${n}=0x${c.toString(16).padStart(2, "0")}`)
    .join(", ");
  lines.push(
    `/* ${code} ${d.name}: args ${d.args.size < 0 ? "(variable)" : (d.args as Codec<unknown>).layout}, returns ${d.ret.layout}${errors ? `; errors ${errors}` : ""} */`,
  );
  for (const [n, c] of Object.entries(d.errors))
    lines.push(
      `#define NIGHTOS_${d.name}_ERR_${n} 0x${c.toString(16).padStart(2, "0").toUpperCase()}`,
    );
  if (rets !== undefined && rets.length > 0) {
    lines.push(`typedef struct nightos_${name}_ret {`);
    for (const f of rets) {
      if (f.kind === "uint") lines.push(`  ${ctype(f.size)} ${f.name};`);
      else if (f.kind === "bufptr")
        lines.push(`  uint64_t ${f.name}_addr;`, `  uint64_t ${f.name}_len;`);
      else lines.push(`  uint8_t ${f.name}[${f.size}];`);
    }
    lines.push(`} nightos_${name}_ret;`);
  }
  const params: string[] = [];
  if (args === undefined) params.push("const void *args", "int32_t args_len");
  else
    for (const f of args) {
      if (f.kind === "uint") params.push(`${ctype(f.size)} ${f.name}`);
      else if (f.kind === "bufptr")
        params.push(`uint64_t ${f.name}_addr`, `uint64_t ${f.name}_len`);
      else params.push(`const uint8_t ${f.name}[${f.size}]`);
    }
  const hasRet = rets !== undefined && rets.length > 0;
  // ABI 1.1, a call that starts a thread: the caller passes the 80-byte area (both threads read their
  // own half of it, after the call, with nightos_<name>_decode); nothing is copied into a struct that
  // both threads would share.
  const newThread = NEW_THREAD_SYSCALLS.includes(d.code);
  if (newThread) params.push("void *area");
  else if (hasRet) params.push(`nightos_${name}_ret *out`);
  const call = FORK_SYSCALLS.includes(d.code) ? "nightos_syscall_fork" : "nightos_syscall";
  lines.push(
    `static inline int32_t nightos_${name}(${params.length ? params.join(", ") : "void"}) {`,
  );
  const argSize = args === undefined ? "args_len" : String(args.reduce((n, f) => n + f.size, 0));
  lines.push(
    args === undefined
      ? `  uint8_t req[1 + NIGHTOS_REQ_MAX_ARGS];\n  if (args_len < 0 || args_len > NIGHTOS_REQ_MAX_ARGS) return NIGHTOS_ERROR_FLAG | 0x02;`
      : `  uint8_t req[1 + ${argSize}];`,
  );
  if (!newThread) lines.push(`  uint8_t ret[NIGHTOS_RET_SIZE];`);
  lines.push(`  req[0] = ${code};`);
  if (args === undefined) {
    lines.push(`  for (int32_t i = 0; i < args_len; i++) req[1 + i] = ((const uint8_t *)args)[i];`);
  } else {
    let off = 1;
    for (const f of args) {
      if (f.kind === "uint") lines.push(`  nightos__put(req + ${off}, ${f.name}, ${f.size});`);
      else if (f.kind === "bufptr")
        lines.push(
          `  nightos__put(req + ${off}, ${f.name}_addr, 8);`,
          `  nightos__put(req + ${off + 8}, ${f.name}_len, 8);`,
        );
      else lines.push(`  for (int i = 0; i < ${f.size}; i++) req[${off} + i] = ${f.name}[i];`);
      off += f.size;
    }
  }
  if (newThread) {
    lines.push(`  return ${call}(req, 1 + ${argSize}, area);`, "}");
    if (hasRet) {
      lines.push(
        `/* Decodes one half of ${d.name}'s area: NIGHTOS_ANSWER(area, status) (docs §5). */`,
        `static inline void nightos_${name}_decode(const uint8_t *ret, nightos_${name}_ret *out) {`,
      );
      lines.push(...retFields(rets!, "  "), "}");
    }
    return lines.join("\n");
  }
  lines.push(`  int32_t status = ${call}(req, 1 + ${argSize}, ret);`);
  if (hasRet) {
    lines.push("  if (status == NIGHTOS_OK && out) {");
    lines.push(...retFields(rets!, "    "), "  }");
  } else lines.push("  (void)ret;");
  lines.push("  return status;", "}");
  return lines.join("\n");
}

/** The whole header text. */
export function generateCHeader(): string {
  const consts = (prefix: string, o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `#define ${prefix}${k} 0x${v.toString(16).padStart(2, "0").toUpperCase()}`)
      .join("\n");
  return `/* nightos.h — C bindings for the NightOS ABI ${ABI_VERSION_MAJOR}.${ABI_VERSION_MINOR} (docs/commonassembly.md).
 * GENERATED by commonassembly/sdk/c-header.ts from commonassembly/abi/syscalls.ts: do not edit.
 * Build: clang --target=wasm32 -O2 -nostdlib -matomics -mbulk-memory -Wl,--export-table
 *        -Wl,--shared-memory -Wl,--max-memory=16777216 -Wl,--import-undefined ...
 * Every wrapper returns the syscall status: NIGHTOS_OK (0), else NIGHTOS_ERROR_FLAG | errcode;
 * NIGHTOS_ERRCODE(status) gives the spec's errcode. A call that starts a thread (ABI 1.1: CREATE_THREAD,
 * ACCEPT_SERVICE_CONN) takes the caller's NIGHTOS_THREAD_RET_SIZE-byte area, which must stay valid until
 * both threads have read their half: NIGHTOS_OK in the caller (its answer at the area), NIGHTOS_NEW_THREAD
 * in the new thread (its answer at area + NIGHTOS_NEW_THREAD_RET_OFFSET); NIGHTOS_ANSWER picks the half. */
#ifndef NIGHTOS_H
#define NIGHTOS_H

#include <stdint.h>

#define NIGHTOS_ABI_MAJOR ${ABI_VERSION_MAJOR}
#define NIGHTOS_ABI_MINOR ${ABI_VERSION_MINOR}
#define NIGHTOS_OK 0
#define NIGHTOS_ERROR_FLAG 0x${SYSCALL_ERROR_FLAG.toString(16)}
#define NIGHTOS_ERRCODE(status) ((status) & 0xFF)
#define NIGHTOS_RET_SIZE ${SYSCALL_RET_SIZE}
#define NIGHTOS_NEW_THREAD ${SYSCALL_STATUS_NEW_THREAD}
#define NIGHTOS_NEW_THREAD_RET_OFFSET ${NEW_THREAD_RET_OFFSET}
#define NIGHTOS_THREAD_RET_SIZE ${THREAD_RET_SIZE}
#define NIGHTOS_SUCCEEDED(status) ((status) == NIGHTOS_OK || (status) == NIGHTOS_NEW_THREAD)
#define NIGHTOS_ANSWER(area, status) \\
  ((const uint8_t *)(area) + ((status) == NIGHTOS_NEW_THREAD ? NIGHTOS_NEW_THREAD_RET_OFFSET : 0))
#define NIGHTOS_REQ_MAX_ARGS 4095
#define NIGHTOS_DATAFIELD_SIZE ${SIGNAL_DATAFIELD_SIZE}
/* Control block (addresses 0..63): the optional fork buffer for syscall_fork (docs §7). */
#define NIGHTOS_CTL_FORK_BUFFER ((volatile uint32_t *)${CTL_FORK_BUFFER_OFFSET})
#define NIGHTOS_CTL_FORK_BUFFER_LEN ((volatile uint32_t *)${CTL_FORK_BUFFER_LENGTH_OFFSET})

/* Generic errcodes (syscalls.md, "Technical overview"). */
${consts("NIGHTOS_ERR_", GenericErr)}

/* Signal codes (signals.md). */
${consts("NIGHTOS_SIG_", Sig)}

${SDK_CONSTANT_GROUPS.map(
  (g) =>
    `/* ${g.comment} */\n${g.constants
      .map(
        (c) =>
          `#define NIGHTOS_${c.name} ${c.width === 1 ? `0x${c.value.toString(16).padStart(2, "0").toUpperCase()}` : c.value}`,
      )
      .join("\n")}`,
).join("\n\n")}

/* The imports (docs §3.1). */
__attribute__((import_module("nightos"), import_name("syscall")))
int32_t nightos_syscall(const void *req, int32_t req_len, void *ret);
__attribute__((import_module("nightos"), import_name("syscall_fork")))
int32_t nightos_syscall_fork(const void *req, int32_t req_len, void *ret);
__attribute__((import_module("nightos"), import_name("safepoint")))
void nightos_safepoint(void);

/* A signal handler (docs §6): its "pointer" for HANDLE_SIGNAL is its table index. */
typedef int64_t (*nightos_signal_handler)(int32_t signal, const uint8_t *datafield);
#define NIGHTOS_HANDLER(fn) ((uint64_t)(uintptr_t)(nightos_signal_handler)(fn))

static inline void nightos__put(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t nightos__get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

${SYSCALLS.map(wrapper).join("\n\n")}

#endif /* NIGHTOS_H */
`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(generateCHeader());
}
