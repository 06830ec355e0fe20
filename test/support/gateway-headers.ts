/**
 * The 14 headers a JSON endpoint behind an API gateway or load balancer typically sets on its answer
 * (Node's server adds connection and keep-alive: 16 on the wire). What a delivery's stored excerpt
 * has to cope with; the tests and the benchmark's realistic receiver answer with these.
 */
export interface GatewayIds {
  requestId: string;
  amznRequestId: string;
  traceId: string;
}

export const FIXED_GATEWAY_IDS: GatewayIds = {
  requestId: '1e84260e-d5f1-40a9-a8a6-1c23a5e168be',
  amznRequestId: 'fb42535d-02b1-4ced-a8ea-913ad073fc3c',
  traceId: 'Root=1-674a1b2c-0123456789abcdef01234567',
};

export function gatewayResponseHeaders(body: string | Buffer, ids: GatewayIds = FIXED_GATEWAY_IDS): Record<string, string> {
  const length = Buffer.byteLength(body);
  return {
    date: new Date().toUTCString(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(length),
    'x-request-id': ids.requestId,
    'x-amzn-requestid': ids.amznRequestId,
    'x-amzn-trace-id': ids.traceId,
    'x-amz-apigw-id': 'Ab3dEfGhIAMEbXw=',
    server: 'nginx',
    'x-powered-by': 'Express',
    'cache-control': 'no-store, no-cache, must-revalidate',
    'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
    vary: 'Origin, Accept-Encoding',
    etag: `W/"${length.toString(16)}-${ids.requestId.replaceAll('-', '').slice(0, 24)}"`,
    'x-content-type-options': 'nosniff',
  };
}
