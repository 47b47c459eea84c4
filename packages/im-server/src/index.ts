/** @hxim/im-server: the TCP connection layer. */
export * from './cluster/ports';
