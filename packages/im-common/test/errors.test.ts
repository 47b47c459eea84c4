/** ImError: stable codes, and stack traces only where they tell something. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FrameError, ImError } from '../src';

describe('ImError', () => {
  it('carries its code and fatal flag, and its class name', () => {
    const e = new ImError('RATE_LIMITED', 'slow down', { fatal: true });
    assert.equal(e.code, 'RATE_LIMITED');
    assert.equal(e.fatal, true);
    assert.equal(e.name, 'ImError');
    assert.ok(e instanceof Error);
  });

  it('captures no stack frames for expected errors, and leaves the global limit alone', () => {
    const before = Error.stackTraceLimit;
    const e = new ImError('STORE_TIMEOUT', 'not stored within 2 s');
    assert.equal(e.stack, 'ImError: not stored within 2 s');
    assert.equal(Error.stackTraceLimit, before);
    assert.ok((new Error('plain').stack ?? '').includes('\n    at '), 'other errors still have frames');
  });

  it('keeps the stack of INTERNAL errors and the cause of any error', () => {
    const internal = new ImError('INTERNAL', 'bug');
    assert.ok((internal.stack ?? '').includes('\n    at '));
    const cause = new Error('driver said no');
    const e = new ImError('STORE_UNAVAILABLE', 'store down', { cause });
    assert.equal(e.cause, cause);
    assert.ok((cause.stack ?? '').includes('\n    at '));
  });

  it('subclasses name themselves and are fatal frame errors', () => {
    const e = new FrameError('FRAME_TOO_LARGE', 'too big', 1);
    assert.equal(e.name, 'FrameError');
    assert.equal(e.code, 'FRAME_TOO_LARGE');
    assert.equal(e.fatal, true);
    assert.equal(e.stack, 'FrameError: too big');
  });
});
