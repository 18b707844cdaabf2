// What the pipeline learns about one request, handed to the log line and the metrics when it is finished.
// Only bounded, credential-free values go in here: route ids and reason ids, never raw paths or keys.

export interface RequestRecord {
  startedAt: bigint;
  method: string;
  routeId: string | null;
  outcome: 'forwarded' | 'denied' | 'own' | 'error' | 'aborted';
  reason: string | null;
  status: number;
  upstreamStatus: number | null;
  upstreamSeconds: number | null;
  authSeconds: number | null;
  authMethod: string | null;
  /** Normalised path with credentials masked (set by the face that knows where they are); for logs only. */
  path: string | null;
}
