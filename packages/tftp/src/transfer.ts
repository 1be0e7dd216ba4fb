/**
 * One read transfer: the sender's state machine of RFC 1350 with RFC 7440 windows. Owns no socket: it
 * talks through a {@link Wire} (the server passes a connected UDP socket; tests pass lossy wrappers).
 *
 * Loss recovery. An ACK for block k (mapped to the absolute block in the window, across rollover)
 * moves the window to k+1 and sends it whole: a full ACK opens the next window, a partial one
 * (the receiver saw a gap, RFC 7440 §4) resends from the first missing block. A duplicate ACK (k equal to
 * the last acknowledged block) is ignored: answering it would double every later packet (the sorcerer's
 * apprentice bug, RFC 1350 §6 note / RFC 1123 4.2.3.1). Only the timer retransmits unacknowledged
 * blocks, with exponential backoff, and gives up after `retries` with ERROR 0.
 *
 * Timeouts. A receiver acknowledges after `windowsize` blocks, on a gap, or on its own timeout (RFC 7440
 * §4; atftp 0.8 waits 5 s for a short window, measured; U-Boot acknowledges at fixed block numbers),
 * so the sender cannot send a shorter window to adapt to loss: windows are sized to fit when granted
 * (options.ts), and a lost tail is recovered fast instead. Unless the client negotiated `timeout` (RFC 2349, then honoured as is),
 * the retransmission timeout adapts to the measured round trip (RFC 1123 4.2.3.2; RFC 6298's
 * estimator, Karn's rule, floor {@link MIN_RTO_MS}, ceiling `timeoutMs`). The first timeout of a window
 * resends only its last block sent, a tail probe: a receiver that lost the tail sees it out of order and
 * acknowledges what it has at once, one that lost the ACK acknowledges again, and no stale copies of
 * the window pile up in its socket buffer. One that lost the whole window answers the probe with a
 * duplicate of the last ACK: that one duplicate (and only after a probe, so it cannot snowball into the
 * sorcerer's apprentice) resends the window at once. A second timeout resends the window too. Early (adaptive)
 * timeouts do not use up `retries`: the backoff climbs to `timeoutMs` and counts from there.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode, MAX_BACKOFF_MS, MIN_RTO_MS, Opcode } from './constants.js';
import { TftpError, TftpErrorCode } from './errors.js';
import { encodeError } from './packet.js';
import type { BlockStore } from './source.js';

/** What a transfer sends through. `send` must not keep `packet` past the call unless it sends it as is. */
export interface Wire {
  send(packet: Buffer): void;
}

export interface TransferOptions {
  wire: Wire;
  store: BlockStore;
  /** OACK to send first (then wait for ACK 0), or undefined to start with DATA 1 (RFC 2347 §3). */
  oack: Buffer | undefined;
  windowsize: number;
  /** First (and largest un-backed-off) retransmission timeout. */
  timeoutMs: number;
  /** Adapt the timeout to the measured round trip (false when the client negotiated `timeout`). */
  adaptiveTimeout?: boolean;
  retries: number;
  /** Clock for round-trip samples, ms. @default performance.now */
  now?: () => number;
  /** Called once, when the last block is acknowledged or the transfer fails. */
  onDone(error: TftpError | undefined): void;
}

export class Transfer {
  /** Highest block acknowledged (absolute, 0 = none / the OACK). */
  acked = 0;
  /** Highest block sent so far. */
  sent = 0;
  packetsSent = 0;
  retransmits = 0;
  /** Packets from the peer that were not a useful ACK (duplicates, stale, unknown). */
  ignored = 0;
  private phase: 'oack' | 'data' | 'done' = 'data';
  private cursor = 1;
  private windowEnd = 0;
  private waiting = false;
  /** Counted retransmissions of the current window (those at a timeout ≥ `timeoutMs`). */
  private attempts = 0;
  /** Timeouts since the last progress, counted or not. */
  private timeouts = 0;
  /** A tail probe is out and no ACK has answered it yet. */
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDelay = 0;
  /** Current retransmission timeout, ms. */
  private rto: number;
  private srtt = 0;
  private rttvar = 0;
  /** When the window being timed was sent (performance.now()), or -1 when none is (Karn's rule). */
  private sampleAt = -1;
  /** The block whose ACK ends the timed round trip (0 = the OACK's ACK). */
  private sampleBlock = 0;

  private readonly now: () => number;

  constructor(private readonly o: TransferOptions) {
    this.rto = o.timeoutMs;
    this.now = o.now ?? (() => performance.now());
  }

  /** The current retransmission timeout, ms (for tests and events). */
  get timeoutMs(): number {
    return this.rto;
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  start(): void {
    if (this.o.oack) {
      this.phase = 'oack';
      this.o.wire.send(this.o.oack);
      this.packetsSent++;
    } else this.sendWindow();
    this.startSample(this.o.oack ? 0 : this.windowEnd);
    this.arm(this.rto);
  }

  /**
   * Feeds one datagram from the peer, the first `length` bytes of `msg` (the caller has already checked
   * its source address and port). `msg` is not kept past the call.
   */
  handle(msg: Buffer, length = msg.length): void {
    if (this.phase === 'done') return;
    if (length < 4 || msg[0] !== 0) {
      this.ignored++;
      return;
    }
    const op = msg[1];
    if (op === Opcode.ACK) return this.onAck((msg[2]! << 8) | msg[3]!);
    if (op === Opcode.ERROR) {
      const nul = msg.indexOf(0, 4);
      const clean = msg
        .toString('latin1', 4, nul === -1 || nul > length ? length : nul)
        .replace(/[^\x20-\x7e]/g, '?')
        .slice(0, 200);
      return this.finish(
        new TftpError(TftpErrorCode.PeerError, `peer sent ERROR ${msg.readUInt16BE(2)}: ${clean}`),
      );
    }
    this.ignored++;
  }

  /** Ends the transfer now; sends ERROR `code` to the peer unless `code` is undefined. */
  abort(error: TftpError, code: number | undefined = ErrorCode.NotDefined): void {
    if (this.phase === 'done') return;
    if (code !== undefined) this.o.wire.send(encodeError(code, error.message));
    this.finish(error);
  }

  private onAck(k: number): void {
    if (this.phase === 'oack') {
      if (k !== 0) {
        this.ignored++;
        return;
      }
      this.phase = 'data';
      this.endSample(0);
      this.progress();
      this.sendWindow();
      this.startSample(this.windowEnd);
      return;
    }
    const delta = (k - this.acked) & 0xffff;
    if (delta === 0 && this.probing) {
      this.probing = false; // the receiver has nothing past `acked`: the whole window was lost
      this.retransmitWindow();
      return;
    }
    this.probing = false;
    if (delta === 0 || this.acked + delta > this.sent) {
      this.ignored++; // duplicate (never answered: sorcerer's apprentice) or not a block we sent
      return;
    }
    this.acked += delta;
    if (this.acked === this.o.store.totalBlocks) {
      this.finish(undefined);
      return;
    }
    this.sendWindow(); // first, to keep the round trip short; bookkeeping after
    if (this.sampleAt >= 0) this.endSample(this.acked);
    this.startSample(this.windowEnd);
    this.progress();
    this.o.store.release(this.acked);
  }

  /** Times the round trip of what was just sent, up to the ACK of `block`. */
  private startSample(block: number): void {
    if (!this.o.adaptiveTimeout || this.sampleAt >= 0) return;
    this.sampleAt = this.now();
    this.sampleBlock = block;
  }

  /** Ends the timed round trip at an ACK of `acked`: a sample if it covers the window, else dropped. */
  private endSample(acked: number): void {
    if (this.sampleAt < 0) return;
    if (acked >= this.sampleBlock) {
      const r = this.now() - this.sampleAt;
      if (this.srtt === 0) {
        this.srtt = r;
        this.rttvar = r / 2;
      } else {
        this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
        this.srtt = 0.875 * this.srtt + 0.125 * r;
      }
      const rto = Math.ceil(this.srtt + Math.max(1, 4 * this.rttvar));
      this.rto = Math.min(this.o.timeoutMs, Math.max(MIN_RTO_MS, rto));
    }
    this.sampleAt = -1; // a partial ACK means loss and a resend: no sample (Karn)
  }

  /** Sends blocks acked+1 … acked+windowsize (fewer at the end of the file). */
  private sendWindow(): void {
    this.cursor = this.acked + 1;
    this.windowEnd = Math.min(this.acked + this.o.windowsize, this.o.store.totalBlocks);
    this.pump();
  }

  private pump(): void {
    const { store, wire } = this.o;
    while (this.cursor <= this.windowEnd) {
      const packet = store.packet(this.cursor);
      if (packet === undefined) {
        if (!this.waiting) {
          this.waiting = true;
          store.ready(this.cursor).then(
            () => {
              this.waiting = false;
              if (this.phase === 'data') this.pump();
            },
            (err: TftpError) => this.abort(err),
          );
        }
        return;
      }
      if (this.cursor <= this.sent) this.retransmits++;
      else this.sent = this.cursor;
      wire.send(packet);
      this.packetsSent++;
      this.cursor++;
    }
  }

  private progress(): void {
    this.attempts = 0;
    this.timeouts = 0;
    this.arm(this.rto);
  }

  private arm(delay: number): void {
    if (this.timer && delay === this.timerDelay) {
      this.timer.refresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timerDelay = delay;
    this.timer = setTimeout(() => this.onTimeout(), delay);
  }

  private onTimeout(): void {
    if (this.phase === 'done') return;
    const base = this.o.timeoutMs;
    const early = this.timerDelay < base; // an adaptive timeout: free, it does not use up a retry
    if (!early) this.attempts++;
    this.timeouts++;
    this.sampleAt = -1;
    if (this.attempts > this.o.retries) {
      const error = new TftpError(
        TftpErrorCode.Timeout,
        `no ACK after ${this.o.retries} retransmissions (last acknowledged block ${this.acked})`,
      );
      this.o.wire.send(encodeError(ErrorCode.NotDefined, 'timed out'));
      this.finish(error);
      return;
    }
    const last = this.cursor - 1; // last block of the window sent so far
    if (this.phase === 'oack') {
      this.o.wire.send(this.o.oack!);
      this.packetsSent++;
      this.retransmits++;
    } else if (this.timeouts === 1 && last > this.acked + 1) {
      this.o.wire.send(this.o.store.packet(last)!); // tail probe: still held, it is unacknowledged
      this.packetsSent++;
      this.retransmits++;
      this.probing = true;
    } else this.retransmitWindow();
    let next = this.timerDelay * 2;
    if (early && next > base) next = base;
    this.arm(Math.min(next, Math.max(base, MAX_BACKOFF_MS)));
  }

  private retransmitWindow(): void {
    this.probing = false;
    this.sendWindow();
  }

  private finish(error: TftpError | undefined): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.o.onDone(error);
  }
}
