/**
 * @hxim/im-common: the wire codec. Pure: no sockets, no timers, no I/O after the schema loads.
 */
export * from './types';
export * from './errors';
export { encodeFrame, encodeBody, frameBody, decodeBody, isKnownType, HEADER_BYTES } from './frame';
export { FrameDecoder, DEFAULT_MAX_FRAME_BYTES, type RawFrame, type FrameDecoderOptions } from './decoder';
export { lookupType, protoDir, MESSAGE_NAMES } from './proto';
export * from './conv';
