// One CLI's session with the kernel (docs/kernel.md, "The session"): the kernel's side of one control
// connection. It sends what the kernel reports, asks the CLI questions and waits for the answers
// (permission prompts), and streams stdio frames with back-pressure (command pipes).

import type net from "node:net";
import {
  type ClientMessage,
  DENY,
  encodeFrame,
  type KernelMessage,
  type QuestionKind,
  type StdioMessage,
} from "../protocol.js";
import { isStdio, StdioMux } from "../stdio.js";

/** Questions a session may have waiting for an answer at once; one more is denied at once. */
export const MAX_PENDING_ASKS = 16;
/** Longest question text, in characters. */
export const MAX_ASK_TEXT = 4096;
/** Most choices of one question (one of them is always "deny"). */
export const MAX_ASK_CHOICES = 8;

export interface Question {
  kind: QuestionKind;
  text: string;
  /** What the user may answer; must contain "deny" (what a session without a terminal answers). */
  choices: readonly string[];
  /** The choice Enter picks on the terminal. */
  default?: string;
  /** The run whose process asks (docs/kernel.md "Runs on one connection"); none for the test hook. */
  run?: number;
}

export class ClientSession {
  /** Set by the client's `hello`: whether it has a terminal to ask on. */
  terminal = false;
  readonly stdio: StdioMux;
  private nextAsk = 1;
  private readonly asks = new Map<
    number,
    { choices: readonly string[]; done: (c: string) => void }
  >();
  private closed = false;

  constructor(
    private readonly conn: net.Socket,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.stdio = new StdioMux("kernel", (m) => this.send(m));
  }

  send(m: KernelMessage | StdioMessage): void {
    if (!this.conn.destroyed) this.conn.write(encodeFrame(m));
  }

  /**
   * Ask the CLI and wait for its answer: one of `q.choices`. A session without a terminal, one that
   * has gone (or goes before answering), and an answer that is not one of the choices all give "deny".
   */
  ask(q: Question): Promise<string> {
    if (!q.choices.includes(DENY))
      throw new RangeError(`a question's choices must include "${DENY}"`);
    if (q.choices.length > MAX_ASK_CHOICES || q.text.length > MAX_ASK_TEXT)
      throw new RangeError(
        `a question has at most ${MAX_ASK_CHOICES} choices and ${MAX_ASK_TEXT} characters`,
      );
    if (this.closed || this.conn.destroyed || !this.terminal) return Promise.resolve(DENY);
    if (this.asks.size >= MAX_PENDING_ASKS) {
      this.log(`session: ${MAX_PENDING_ASKS} questions already wait for an answer; denied`);
      return Promise.resolve(DENY);
    }
    const id = this.nextAsk++;
    return new Promise((resolve) => {
      this.asks.set(id, { choices: q.choices, done: resolve });
      this.send({
        t: "ask",
        id,
        ...(q.run !== undefined ? { run: q.run } : {}),
        kind: q.kind,
        text: q.text,
        choices: [...q.choices],
        ...(q.default !== undefined && q.choices.includes(q.default) ? { default: q.default } : {}),
      });
    });
  }

  /** Questions still waiting for an answer. */
  get pendingAsks(): number {
    return this.asks.size;
  }

  /**
   * Take the session's own messages off the socket (answers, stdio frames): true when `m` was one.
   * Throws StdioProtocolError when a stdio frame breaks the rules (the caller ends the session).
   */
  receive(m: ClientMessage): boolean {
    if (m.t === "answer") {
      this.answer(m.id, m.choice);
      return true;
    }
    if (isStdio(m)) {
      this.stdio.handle(m);
      return true;
    }
    return false;
  }

  /** The CLI's `answer`. An unknown id (already answered, never asked) is ignored. */
  answer(id: number, choice: string): void {
    const a = this.asks.get(id);
    if (a === undefined) return;
    this.asks.delete(id);
    if (a.choices.includes(choice)) a.done(choice);
    else {
      this.log(
        `session: answer ${JSON.stringify(choice)} to question ${id} is not a choice; denied`,
      );
      a.done(DENY);
    }
  }

  /**
   * Echo stdin of `pid` back as its stdout (the `test-echo` hook): a chunk is released, and credit
   * returned to the CLI, only once stdout has room for it, so back-pressure goes end to end as it
   * will through a command pipe.
   */
  echo(pid: number): void {
    const out = this.stdio.sender(pid, "out");
    this.stdio.receive(pid, "in", {
      data: (bytes, release) => {
        if (out.write(bytes)) release();
        else void out.drained().then(release);
      },
      eof: () => out.end(),
    });
  }

  /** The connection went away: every waiting question is denied, every stdin reader gets eof. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.asks.values()) a.done(DENY);
    this.asks.clear();
    this.stdio.close();
  }
}
