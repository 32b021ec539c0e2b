// What the proxy reads of the messages a client sends after authentication. pg-gateway frames and
// authenticates the start of a connection and pg-protocol parses what the server sends, but neither
// decodes the bodies of these frontend messages, so the few fields recording needs are read here
// (PostgreSQL protocol 3.0, "Message Formats"). Everything else is forwarded as received.

/** `type` byte, then an Int32 length that counts itself but not the type byte. */
export const HEADER_BYTES = 5;

export const FrontendCode = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Execute: 0x45, // E
  Describe: 0x44, // D
  Close: 0x43, // C
  Sync: 0x53, // S
  Flush: 0x48, // H
  FunctionCall: 0x46, // F
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  Terminate: 0x58, // X
} as const;

/** Splits a byte stream into whole messages; a declared length over `maxBytes` is refused before it is buffered. */
export class MessageFramer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes: number) {}

  /** Whole messages completed by `chunk`; throws when a message declares more than `maxBytes`. */
  push(chunk: Buffer): Buffer[] {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (data.length >= HEADER_BYTES) {
      const length = data.readUInt32BE(1);
      if (length < 4 || length + 1 > this.maxBytes) throw new OversizedMessage(length + 1, this.maxBytes);
      if (data.length < length + 1) break;
      messages.push(data.subarray(0, length + 1));
      data = data.subarray(length + 1);
    }
    this.pending = data.length ? Buffer.from(data) : Buffer.alloc(0);
    return messages;
  }
}

export class OversizedMessage extends Error {
  constructor(
    readonly declared: number,
    readonly limit: number,
  ) {
    super(`a message of ${declared} bytes exceeds the proxy's limit of ${limit}`);
  }
}

class BodyReader {
  private offset = HEADER_BYTES;

  constructor(private readonly message: Buffer) {}

  cstring(): string {
    const end = this.message.indexOf(0, this.offset);
    if (end < 0) throw new Error('unterminated string');
    const text = this.message.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }

  int16(): number {
    const value = this.message.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    const value = this.message.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(length: number): Buffer {
    const value = this.message.subarray(this.offset, this.offset + length);
    if (value.length !== length) throw new Error('truncated value');
    this.offset += length;
    return value;
  }
}

export function queryText(message: Buffer): string {
  return new BodyReader(message).cstring();
}

export function parseMessage(message: Buffer): { statement: string; query: string } {
  const reader = new BodyReader(message);
  return { statement: reader.cstring(), query: reader.cstring() };
}

/** A parameter as recorded: text values as they are, binary ones as `\x…` hex, NULL as null. */
export type ParameterValue = string | null;

export function bindMessage(message: Buffer): { portal: string; statement: string; parameters: ParameterValue[] } {
  const reader = new BodyReader(message);
  const portal = reader.cstring();
  const statement = reader.cstring();
  const formats = Array.from({ length: reader.int16() }, () => reader.int16());
  const count = reader.int16();
  const parameters = Array.from({ length: count }, (_, i): ParameterValue => {
    const length = reader.int32();
    if (length < 0) return null;
    const value = reader.bytes(length);
    // One format code applies to all parameters, none means all text (protocol rules).
    const binary = (formats.length === 1 ? formats[0] : (formats[i] ?? 0)) === 1;
    return binary ? `\\x${value.toString('hex')}` : value.toString('utf8');
  });
  return { portal, statement, parameters };
}

export function executePortal(message: Buffer): string {
  return new BodyReader(message).cstring();
}

export function functionCallOid(message: Buffer): number {
  return new BodyReader(message).int32();
}
