/**
 * Error codes and named error classes shared by the server, the client and the tests.
 *
 * A code is stable: it travels in ErrorMessage.code (docs/protocol.md §Errors) and tests assert
 * on it. The message says what to change.
 */

/** Every stable error code, with the numeric form used for seed-mode notices (businessType). */
export const ErrorCodes = {
  // framing (fatal: the stream cannot be trusted any more)
  FRAME_TOO_LARGE: 901,
  NEGATIVE_LENGTH: 902,
  UNKNOWN_TYPE: 903,
  BAD_BODY: 904,
  PARTIAL_FRAME_TIMEOUT: 905,
  // connection state
  NOT_LOGGED_IN: 910,
  ALREADY_LOGGED_IN: 911,
  LOGIN_TIMEOUT: 912,
  IDLE_TIMEOUT: 913,
  SESSION_REPLACED: 914,
  SERVER_FULL: 915,
  SERVER_DRAINING: 916,
  SLOW_CONSUMER: 917,
  RATE_LIMITED: 918,
  // auth
  AUTH_REQUIRED: 920,
  BAD_CREDENTIALS: 921,
  BAD_TOKEN: 922,
  USER_EXISTS: 923,
  BAD_USERNAME: 924,
  BAD_PASSWORD: 925,
  LOGIN_THROTTLED: 926,
  // requests
  BAD_REQUEST: 930,
  FORBIDDEN_SENDER: 931,
  UNKNOWN_USER: 932,
  BODY_TOO_LARGE: 933,
  NOT_A_MEMBER: 934,
  BAD_SEQ: 935,
  PAGE_TOO_LARGE: 936,
  NOT_ALLOWED: 937,
  // friends (issue 4)
  NOT_FRIENDS: 940,
  ALREADY_FRIENDS: 941,
  APPLY_PENDING: 942,
  NO_APPLICATION: 943,
  BLOCKED: 944,
  // groups (issue 5)
  GROUP_FULL: 960,
  NO_SUCH_GROUP: 961,
  ALREADY_MEMBER: 962,
  // backends
  STORE_UNAVAILABLE: 950,
  STORE_TIMEOUT: 951,
  INTERNAL: 999,
} as const;

/** A stable error code name. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Base class: every error we raise on purpose carries a stable {@link ErrorCode}. */
export class ImError extends Error {
  /** Stable code, sent on the wire in ErrorMessage.code. */
  readonly code: ErrorCode;
  /** When true the connection is closed after the error frame is sent. */
  readonly fatal: boolean;

  constructor(code: ErrorCode, message: string, opts: { fatal?: boolean; cause?: unknown } = {}) {
    // Expected errors (bad input, limits, store timeouts) are answered by their code, and under
    // overload or a flood of bad frames they come by the hundred thousand: capturing a stack
    // trace cost ~7 µs each and told nothing. INTERNAL keeps its stack; a cause keeps its own.
    const limit = Error.stackTraceLimit;
    if (code !== 'INTERNAL') Error.stackTraceLimit = 0;
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
    this.code = code;
    this.fatal = opts.fatal ?? false;
  }
}

/** The byte stream is malformed (bad length, unknown type, undecodable body). Always fatal. */
export class FrameError extends ImError {
  /** Type code of the offending frame, when it was read. */
  readonly typeCode: number;
  constructor(code: ErrorCode, message: string, typeCode = 0, cause?: unknown) {
    super(code, message, { fatal: true, cause });
    this.typeCode = typeCode;
  }
}

/** A well-formed frame that is not allowed now or by this user. The connection stays usable. */
export class RequestError extends ImError {}

/** A backend (store, presence, bus) failed or timed out. */
export class BackendError extends ImError {}
