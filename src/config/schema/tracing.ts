// The `tracing` section: OpenTelemetry traces exported over OTLP/HTTP. Off unless `enabled`; with it off the
// proxy builds no tracer at all, so a request pays nothing for the section's existence.

import { z } from 'zod';
import { headerName } from './fields.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const tracingSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** The collector's OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces (JSON encoding). */
    endpoint: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL like "http://collector:4318/v1/traces"' }).optional(),
    /** `service.name` of every span's resource. */
    serviceName: z.string().min(1).max(200).default('portcullis'),
    /** Share of new traces recorded (0 to 1); a trusted incoming traceparent's sampled flag decides for its trace. */
    sampleRatio: z.number().min(0).max(1).default(1),
    /** Headers sent to the collector (an auth header), each value from an environment variable, never written here. */
    headers: z
      .record(headerName, z.strictObject({ env: z.string().regex(ENV_NAME, 'expected an environment variable name') }), {
        error: 'expected header names mapped to { env: NAME }',
      })
      .default({}),
    /**
     * Whose `traceparent` is continued: `trusted-proxies` (peers in listen.trustedProxies), `always` or `never`.
     * Any other request starts a new trace, and the upstream sees the proxy's span, never the client's header.
     */
    trustIncomingTraceparent: z.enum(['trusted-proxies', 'always', 'never']).default('trusted-proxies'),
  })
  .superRefine((tracing, ctx) => {
    if (tracing.enabled && tracing.endpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'required when tracing is enabled' });
    }
  });

export type TracingConfig = z.output<typeof tracingSchema>;
