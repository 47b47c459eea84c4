/** @hxim/im-client: client library (heartbeat, reconnect, acks, dedup) and CLI. */
export {};
