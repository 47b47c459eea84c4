/**
 * @hxim/business: persistence and domain rules. Works through the ports in ./ports; never
 * imports net, Redis or AMQP.
 */
export * from './ports';
