// undici's own modules, imported one by one by http-delivery.ts; their types are the index's
// (cast there), so each is declared here only as a module that exists.
declare module 'undici/lib/dispatcher/agent.js' {
  const Agent: unknown;
  export default Agent;
}
declare module 'undici/lib/core/connect.js' {
  const buildConnector: unknown;
  export default buildConnector;
}
declare module 'undici/lib/api/api-request.js' {
  const request: unknown;
  export default request;
}
