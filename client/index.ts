/**
 * Hookline's developer package: a typed API client generated from the OpenAPI document, and
 * `verify()` for receivers of Hookline deliveries.
 */
export * from './verify';
