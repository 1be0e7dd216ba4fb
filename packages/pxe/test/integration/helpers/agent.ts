// Drives test/integration/agent.mjs inside a namespace: start DHCP servers, raw UDP, HTTP, fuzz.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { BUNDLE } from '../global-setup.js';
import type { Netns } from './netns.js';

const AGENT = fileURLToPath(new URL('../agent.mjs', import.meta.url));

export interface AgentEvent {
  event: string;
  name?: string;
  type?: string;
  payload?: Record<string, unknown>;
  data?: string;
  from?: string;
  [k: string]: unknown;
}

export class Agent {
  readonly events: AgentEvent[] = [];
  stderr = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly watchers = new Set<() => void>();
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as AgentEvent & {
        id?: number;
        ok?: boolean;
        result?: unknown;
        error?: { message: string; code?: string; hint?: string };
      };
      if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.ok) w?.resolve(msg.result);
        else
          w?.reject(
            Object.assign(new Error(msg.error?.message), { code: msg.error?.code, hint: msg.error?.hint }),
          );
        return;
      }
      this.events.push(msg);
      for (const f of this.watchers) f();
    });
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`agent exited: ${this.stderr}`));
      this.waiting.clear();
      for (const f of this.watchers) f();
    });
  }

  static async start(ns: Netns): Promise<Agent> {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, AGENT, BUNDLE], { stdio: 'pipe' });
    const agent = new Agent(child);
    await agent.waitFor((e) => e.event === 'ready', 20_000);
    return agent;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.exited) return reject(new Error(`agent exited: ${this.stderr}`));
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Resolves with the first event (past or future) matching `pred`. */
  waitFor(pred: (e: AgentEvent) => boolean, timeoutMs: number): Promise<AgentEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.events.find(pred);
        if (hit) {
          cleanup();
          resolve(hit);
          return true;
        }
        if (this.exited) {
          cleanup();
          reject(new Error(`agent exited: ${this.stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for an event; got: ${JSON.stringify(this.events.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.watchers.delete(check);
      };
      if (!check()) this.watchers.add(check);
    });
  }

  serverEvents(name: string, type: string): Record<string, unknown>[] {
    return this.events
      .filter((e) => e.event === 'server' && e.name === name && e.type === type)
      .map((e) => e.payload ?? {});
  }

  async dispose(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.write(`${JSON.stringify({ op: 'exit' })}\n`);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
