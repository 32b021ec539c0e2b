import type { BackendMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';
import { HEADER_BYTES } from './frontend-messages';

// Server messages the recording needs decoded (pg-protocol decodes them): CommandComplete,
// ErrorResponse, ReadyForQuery, EmptyQueryResponse, PortalSuspended, CopyInResponse, CopyOutResponse.
const DECODED = new Set([0x43, 0x45, 0x5a, 0x49, 0x73, 0x47, 0x48]);
const DATA_ROW = 0x44;
const COPY_DATA = 0x64;

/**
 * Follows the server's side of a proxied connection without decoding what recording does not need:
 * rows and COPY data are only counted (their bytes are forwarded untouched by the session), so a
 * large result costs a header read per row, not a parse.
 */
export class ServerMessages {
  private readonly parser = new Parser();
  /** The start of a message to decode (or of a header) that the next chunk completes. */
  private carry: Buffer | null = null;
  /** Bytes of a counted or ignored message still to come. */
  private skip = 0;

  constructor(
    private readonly decoded: (message: BackendMessage) => void,
    private readonly counted: (kind: 'row' | 'copyData', bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    let offset = Math.min(this.skip, data.length);
    this.skip -= offset;
    while (offset + HEADER_BYTES <= data.length) {
      const code = data[offset];
      const end = offset + 1 + data.readUInt32BE(offset + 1);
      if (!DECODED.has(code)) {
        if (code === DATA_ROW) this.counted('row', 0);
        else if (code === COPY_DATA) this.counted('copyData', end - offset - HEADER_BYTES);
        if (end > data.length) {
          this.skip = end - data.length;
          return;
        }
        offset = end;
        continue;
      }
      if (end > data.length) break;
      this.parser.parse(data.subarray(offset, end), this.decoded);
      offset = end;
    }
    if (offset < data.length) this.carry = Buffer.from(data.subarray(offset));
  }
}
