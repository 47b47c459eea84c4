/**
 * Compiles protobufjs reflection types (loaded from /proto at start-up) into specialised
 * size/write/decode functions. The .proto files stay the only schema: nothing is generated at
 * build time or committed. protobufjs' own codecs were about half as fast as DESIGN.md's codec
 * target needs; the differences that matter are one exactly-sized allocation per frame (header
 * included, no Writer op list, no copy), numbers instead of LongBits objects for int64, and plain
 * objects with every field present instead of prototype defaults.
 *
 * Semantics, matching protobuf-java (the seed's codec):
 * - encode: fields in field-number order; proto3 defaults (0, "", false, empty bytes) are not
 *   emitted, even when set explicitly; repeated elements and set message fields always are.
 * - decode: absent fields read as defaults (repeated: a fresh []); a known field number with an
 *   unexpected wire type is skipped as unknown; unknown fields are skipped; truncated or malformed
 *   input throws WireError. `bytes` values are views into the input (no copy).
 *
 * Supported field types are those a chat protocol needs: int32, uint32, int64, uint64, bool, enum,
 * string, bytes and messages, singular or repeated (repeated only for string/bytes/messages).
 * Anything else in /proto fails loudly at load time, naming the field, rather than mis-encoding.
 */
import type protobuf from 'protobufjs';
import * as wire from './wire';

/** The compiled functions of one message type. */
export interface MessageCodec {
  /** Fully qualified protobuf name, e.g. "org.example.common.po.ChatMessage". */
  readonly name: string;
  /** Encoded body size of `msg` in bytes. */
  size(msg: object): number;
  /** Writes `msg` at `pos` (the buffer has room: see size()); returns the position after it. */
  write(msg: object, buf: Buffer, pos: number): number;
  /** Decodes `buf[pos, end)`. Throws wire.WireError on malformed input. */
  decode(buf: Buffer, pos: number, end: number, depth: number): object;
}

type Kind = 'i32' | 'u32' | 'i64' | 'u64' | 'bool' | 'string' | 'bytes' | 'msg';

const SCALAR_KINDS: Readonly<Record<string, Kind>> = {
  int32: 'i32', uint32: 'u32', int64: 'i64', uint64: 'u64', bool: 'bool', string: 'string', bytes: 'bytes',
};

interface FieldPlan {
  name: string;
  id: number;
  kind: Kind;
  repeated: boolean;
  /** Index of the message codec, for kind 'msg'. */
  ref: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** The varint bytes of a field's tag (field number << 3 | wire type). */
function tagBytes(id: number, wireType: number): number[] {
  let v = ((id << 3) | wireType) >>> 0;
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function planField(type: protobuf.Type, f: protobuf.Field, refOf: (t: protobuf.Type) => number): FieldPlan {
  const where = `${type.fullName}.${f.name}`;
  if (!IDENT.test(f.name) || RESERVED.has(f.name)) throw new Error(`${where}: field name not usable as a JS property`);
  if (f.map || f.partOf || (f.options && f.options.proto3_optional)) {
    throw new Error(`${where}: maps, oneofs and optional fields are not supported by im-common's codec (codec.ts)`);
  }
  const rt = f.resolvedType;
  let kind: Kind | undefined;
  let ref = -1;
  if (rt && 'fieldsArray' in rt) {
    kind = 'msg';
    ref = refOf(rt as protobuf.Type);
  } else if (rt) kind = 'i32'; // enum: an int32 on the wire
  else kind = SCALAR_KINDS[f.type];
  if (kind === undefined) throw new Error(`${where}: type ${f.type} is not supported by im-common's codec (codec.ts)`);
  if (f.repeated && kind !== 'string' && kind !== 'bytes' && kind !== 'msg') {
    throw new Error(`${where}: repeated ${f.type} (packed) is not supported by im-common's codec (codec.ts)`);
  }
  return { name: f.name, id: f.id, kind, repeated: f.repeated, ref };
}

function isLen(kind: Kind): boolean {
  return kind === 'string' || kind === 'bytes' || kind === 'msg';
}

/** Code that normalises `v` (the field value) for its kind; after it, `if (v)` means "emit". */
function normalise(kind: Kind): string {
  switch (kind) {
    case 'i32': return 'if (typeof v !== "number") v = rt.toNum(v); v = v | 0;';
    case 'u32': return 'if (typeof v !== "number") v = rt.toNum(v); v = v >>> 0;';
    case 'i64': case 'u64': return 'if (typeof v !== "number") v = rt.toNum(v);';
    case 'string': return 'if (v && typeof v !== "string") v = String(v);';
    case 'bytes': return 'if (v != null && !(v instanceof Uint8Array)) v = rt.toBytes(v); if (v && v.length === 0) v = null;';
    default: return '';
  }
}

/** Normalises `e`, one element of a repeated field: null becomes the default, never skipped. */
function normaliseElement(kind: Kind): string {
  switch (kind) {
    case 'string': return 'if (typeof e !== "string") e = e == null ? "" : String(e);';
    case 'bytes': return 'if (!(e instanceof Uint8Array)) e = e == null ? rt.EMPTY_BYTES : rt.toBytes(e);';
    default: return 'if (e == null) e = rt.EMPTY_MESSAGE;';
  }
}

// int64 fields are inlined in the generated code rather than calling wire.ts: a double passed to
// or returned from a call that V8 does not inline is boxed in a fresh HeapNumber, and chat frames
// carry four or more int64 values above 2^31 (timestamps, server ids). Anything unusual
// (negative, fractional, beyond 2^53) still goes through wire.ts, which handles every number.

/** Size of an int64 value: comparisons for 0 <= v < 2^49, wire.ts for the rest. */
function sizeInt64Expr(e: string): string {
  const limits = [2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42];
  const chain = limits.map((l, i) => `${e} < ${l} ? ${i + 1} : `).join('') + '7';
  return `(${e} >= 0 && ${e} < ${2 ** 49} ? (${chain}) : rt.sizeVarint64(${e}))`;
}

/** Writes an int64 value: split into exact 32-bit halves when it is a non-negative safe integer. */
function writeInt64Stmt(e: string): string {
  return `if (${e} >= 0 && ${e} <= ${Number.MAX_SAFE_INTEGER} && Math.floor(${e}) === ${e}) { ` +
    `lo = ${e} >>> 0; hi = (${e} - lo) / 4294967296; ` +
    'while (hi !== 0) { buf[pos++] = (lo & 127) | 128; lo = ((lo >>> 7) | (hi << 25)) >>> 0; hi >>>= 7; } ' +
    'while (lo > 127) { buf[pos++] = (lo & 127) | 128; lo >>>= 7; } ' +
    `buf[pos++] = lo; } else pos = rt.writeVarint64(buf, pos, ${e});`;
}

/** Reads an int64 varint: up to 7 bytes (49 bits) exactly in float arithmetic, else wire.ts. */
function readInt64Stmt(target: string, slow: string): string {
  return 'k = pos; x = 0; mul = 1; for (;;) { if (pos >= end) rt.truncated(); b = buf[pos++]; ' +
    'x += (b & 127) * mul; if (b < 128) break; mul *= 128; ' +
    `if (mul === ${2 ** 49}) { x = ${slow}(buf, k, end); pos = cur.pos; break; } } ${target} = x;`;
}

/** Size of one value `e` of a field (tag excluded). */
function sizeExpr(p: FieldPlan, e: string): string {
  switch (p.kind) {
    case 'i32': return `(${e} < 0 ? 10 : rt.sizeVarint32(${e}))`;
    case 'u32': return `rt.sizeVarint32(${e})`;
    case 'i64': case 'u64': return sizeInt64Expr(e);
    case 'bool': return '1';
    case 'string': return `rt.sizeString(${e})`;
    case 'bytes': return `(rt.sizeVarint32(${e}.length) + ${e}.length)`;
    case 'msg': return `(n = S[${p.ref}](${e}), rt.sizeVarint32(n) + n)`;
  }
}

/** Statements writing one value `e` (tag excluded). */
function writeStmt(p: FieldPlan, e: string): string {
  switch (p.kind) {
    case 'i32': return `pos = ${e} < 0 ? rt.writeVarint64(buf, pos, ${e}) : rt.writeVarint32(buf, pos, ${e});`;
    case 'u32': return `pos = rt.writeVarint32(buf, pos, ${e});`;
    case 'i64': case 'u64': return writeInt64Stmt(e);
    case 'bool': return 'buf[pos++] = 1;';
    case 'string': return `pos = rt.writeString(buf, pos, ${e});`;
    case 'bytes': return `pos = rt.writeBytes(buf, pos, ${e});`;
    case 'msg': return `pos = rt.writeVarint32(buf, pos, S[${p.ref}](${e})); pos = W[${p.ref}](${e}, buf, pos);`;
  }
}

function genSize(plans: FieldPlan[]): string {
  const out = ['var s = 0, v, e, i, n;'];
  for (const p of plans) {
    const tag = tagBytes(p.id, isLen(p.kind) ? 2 : 0).length;
    out.push(`v = m.${p.name};`);
    if (p.repeated) {
      // Elements are always emitted, even at their default: their count is the value.
      out.push(`if (v != null) for (i = 0; i < v.length; i++) { e = v[i]; ${normaliseElement(p.kind)} s += ${tag} + ${sizeExpr(p, 'e')}; }`);
    } else if (p.kind === 'msg') {
      out.push(`if (v != null) s += ${tag} + ${sizeExpr(p, 'v')};`);
    } else {
      out.push(normalise(p.kind), `if (v) s += ${tag} + ${sizeExpr(p, 'v')};`);
    }
  }
  out.push('return s;');
  return out.join('\n');
}

function genWrite(plans: FieldPlan[]): string {
  const out = ['var v, e, i, lo, hi;'];
  for (const p of plans) {
    const tag = tagBytes(p.id, isLen(p.kind) ? 2 : 0).map((b) => `buf[pos++] = ${b};`).join(' ');
    out.push(`v = m.${p.name};`);
    if (p.repeated) {
      out.push(`if (v != null) for (i = 0; i < v.length; i++) { e = v[i]; ${normaliseElement(p.kind)} ${tag} ${writeStmt(p, 'e')} }`);
    } else if (p.kind === 'msg') {
      out.push(`if (v != null) { ${tag} ${writeStmt(p, 'v')} }`);
    } else {
      out.push(normalise(p.kind), `if (v) { ${tag} ${writeStmt(p, 'v')} }`);
    }
  }
  out.push('return pos;');
  return out.join('\n');
}

function defaultExpr(p: FieldPlan): string {
  if (p.repeated) return '[]';
  switch (p.kind) {
    case 'string': return '""';
    case 'bytes': return 'rt.EMPTY_BYTES';
    case 'bool': return 'false';
    case 'msg': return 'null';
    default: return '0';
  }
}

/** Reads a varint into `target`: the common one-byte case inline, the rest in wire.ts. */
function readVarintStmt(target: string, slow: string, fast = 'b'): string {
  return `if (pos < end && (b = buf[pos]) < 128) { ${target} = ${fast}; pos++; } ` +
    `else { ${target} = ${slow}; pos = cur.pos; }`;
}

/** Decoding statements for one occurrence of a field (its tag already read). */
function readStmt(p: FieldPlan): string {
  const set = (val: string): string => (p.repeated ? `m.${p.name}.push(${val});` : `m.${p.name} = ${val};`);
  switch (p.kind) {
    case 'i32': return readVarintStmt(`m.${p.name}`, 'rt.readVarint(buf, pos, end) | 0');
    case 'u32': return readVarintStmt(`m.${p.name}`, 'rt.readVarint(buf, pos, end)');
    case 'i64': return readInt64Stmt(`m.${p.name}`, 'rt.readInt64');
    case 'u64': return readInt64Stmt(`m.${p.name}`, 'rt.readUint64');
    case 'bool': return readVarintStmt(`m.${p.name}`, '(rt.readVarint(buf, pos, end) | cur.hi) !== 0', 'b !== 0');
    default: break;
  }
  const len = 'if (pos < end && (n = buf[pos]) < 128) { pos++; if (n > end - pos) rt.truncated(); } ' +
    'else { n = rt.readLength(buf, pos, end); pos = cur.pos; }';
  let val: string;
  if (p.kind === 'string') {
    // Calling Buffer's utf8Slice directly saves a wrapper call per string.
    val = `n === 0 ? "" : ${wire.nativeUtf8 ? 'buf.utf8Slice(pos, pos + n)' : 'rt.readUtf8(buf, pos, pos + n)'}`;
  }
  else if (p.kind === 'bytes') val = 'n === 0 ? rt.EMPTY_BYTES : buf.subarray(pos, pos + n)';
  else val = `D[${p.ref}](buf, pos, pos + n, depth + 1)`;
  return `${len} ${set(val)} pos += n;`;
}

function genDecode(plans: FieldPlan[]): string {
  const init = plans.map((p) => `${p.name}: ${defaultExpr(p)}`).join(', ');
  const cases = plans.map((p) => {
    const tag = ((p.id << 3) | (isLen(p.kind) ? 2 : 0)) >>> 0;
    return `case ${p.id}: if (t === ${tag}) { ${readStmt(p)} continue; } break;`;
  });
  return [
    'if (depth > rt.MAX_DEPTH) rt.tooDeep();',
    `var m = { ${init} }, t, b, n, k, x, mul;`,
    'while (pos < end) {',
    '  t = buf[pos];',
    '  if (t < 128) pos++; else { t = rt.readVarint(buf, pos, end); pos = cur.pos; }',
    // Switch on the field number: dense, so a jump table. A known field with another wire type
    // falls through to skipField like an unknown one (protobuf-java does the same).
    '  switch (t >>> 3) {',
    ...cases.map((c) => `    ${c}`),
    '  }',
    '  pos = rt.skipField(buf, pos, end, t, depth);',
    '}',
    'return m;',
  ].join('\n');
}

/** Helpers the generated code calls, under the name `rt`. */
const runtime = {
  ...wire,
  toBytes(v: unknown): Uint8Array {
    return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as ArrayLike<number>);
  },
  /** Stands in for a null element of a repeated message field: encoded as an empty message. */
  EMPTY_MESSAGE: Object.freeze({}),
  truncated(): never {
    throw new wire.WireError('length-delimited field runs past the end');
  },
  tooDeep(): never {
    throw new wire.WireError(`messages nested deeper than ${wire.MAX_DEPTH}`);
  },
};

/**
 * Compiles `roots` and every message type they reference. Returns a codec per type; codecs of
 * referenced types are shared, so recursion and repeated references work.
 */
export function compileCodecs(roots: readonly protobuf.Type[]): Map<protobuf.Type, MessageCodec> {
  const order: protobuf.Type[] = [];
  const index = new Map<protobuf.Type, number>();
  const refOf = (t: protobuf.Type): number => {
    let i = index.get(t);
    if (i === undefined) {
      i = order.length;
      index.set(t, i);
      order.push(t);
    }
    return i;
  };
  roots.forEach(refOf);
  const S: Array<MessageCodec['size']> = [];
  const W: Array<MessageCodec['write']> = [];
  const D: Array<MessageCodec['decode']> = [];
  const out = new Map<protobuf.Type, MessageCodec>();
  // `order` grows while planning as referenced types are discovered.
  for (let k = 0; k < order.length; k++) {
    const type = order[k];
    const plans = [...type.fieldsArray].sort((a, b) => a.id - b.id).map((f) => planField(type, f, refOf));
    const fn = (args: string, body: string): string => `function (${args}) {\n${body}\n}`;
    const src = `return {\n size: ${fn('m', genSize(plans))},\n write: ${fn('m, buf, pos', genWrite(plans))},\n` +
      ` decode: ${fn('buf, pos, end, depth', genDecode(plans))}\n};`;
    const made = new Function('rt', 'cur', 'S', 'W', 'D', src)(runtime, wire.cursor, S, W, D) as Omit<MessageCodec, 'name'>;
    S[k] = made.size;
    W[k] = made.write;
    D[k] = made.decode;
    out.set(type, { name: type.fullName.replace(/^\./, ''), ...made });
  }
  return out;
}
