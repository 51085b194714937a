/**
 * The knative entry point's gate as a pure decision: method and headers in, a refusal (or none) out.
 * test/knative.test.ts runs it in the real entry point, with real bodies.
 */
import type {IncomingHttpHeaders} from 'node:http';
import {MAX_BODY_BYTES} from '../../functions/http/handler';
import {gateRefusal} from '../../functions/knative/gate';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly code: string | undefined;
}

const json = {'content-type': 'application/json'};
const length = (n: number): IncomingHttpHeaders => ({...json, 'content-length': String(n)});

const cases: Case[] = [
  // What the kube-apiserver sends, and what probes and Prometheus send.
  {name: 'a review with its length', method: 'POST', headers: length(4096), code: undefined},
  {name: 'a review of exactly the limit', method: 'POST', headers: length(MAX_BODY_BYTES), code: undefined},
  {name: 'Content-Encoding identity', method: 'POST', headers: {...length(10), 'content-encoding': 'identity'}, code: undefined},
  {name: 'Content-Encoding Identity, identity', method: 'POST', headers: {...length(10), 'content-encoding': 'Identity, identity'}, code: undefined},
  {name: 'a probe', method: 'GET', headers: {}, code: undefined},
  {name: 'a HEAD', method: 'HEAD', headers: {}, code: undefined},
  {name: 'a DELETE without a body', method: 'DELETE', headers: {}, code: undefined},
  {name: 'a GET with Content-Encoding but no body', method: 'GET', headers: {'content-encoding': 'gzip'}, code: undefined},
  // Over the limit, whatever the method: functions-framework's parser reads a GET's body too.
  {name: 'one byte over the limit', method: 'POST', headers: length(MAX_BODY_BYTES + 1), code: 'body-too-large'},
  {name: 'a GET announcing 20 MiB', method: 'GET', headers: length(20 * 1024 * 1024), code: 'body-too-large'},
  // A body whose size is known only once read.
  {name: 'a chunked POST', method: 'POST', headers: {...json, 'transfer-encoding': 'chunked'}, code: 'length-required'},
  {name: 'a chunked GET', method: 'GET', headers: {'transfer-encoding': 'chunked'}, code: 'length-required'},
  {name: 'a POST without Content-Length', method: 'POST', headers: json, code: 'length-required'},
  {name: 'a PUT without Content-Length', method: 'PUT', headers: {}, code: 'length-required'},
  {name: 'a PATCH without Content-Length', method: 'PATCH', headers: {}, code: 'length-required'},
  // Compressed: its size once inflated is unknown until inflated.
  {name: 'gzip', method: 'POST', headers: {...length(300), 'content-encoding': 'gzip'}, code: 'unsupported-content-encoding'},
  {name: 'deflate', method: 'POST', headers: {...length(300), 'content-encoding': 'deflate'}, code: 'unsupported-content-encoding'},
  {name: 'br', method: 'POST', headers: {...length(300), 'content-encoding': 'br'}, code: 'unsupported-content-encoding'},
  // body-parser 2.4 inflates zstd too, where node has it (node >= 23.8).
  {name: 'zstd', method: 'POST', headers: {...length(300), 'content-encoding': 'zstd'}, code: 'unsupported-content-encoding'},
  {name: 'GZIP, in capitals', method: 'POST', headers: {...length(300), 'content-encoding': 'GZIP'}, code: 'unsupported-content-encoding'},
  {name: 'identity, gzip', method: 'POST', headers: {...length(300), 'content-encoding': 'identity, gzip'}, code: 'unsupported-content-encoding'},
  {name: 'an unknown coding', method: 'POST', headers: {...length(300), 'content-encoding': 'x-something'}, code: 'unsupported-content-encoding'},
  {name: 'a zero-length body in gzip', method: 'POST', headers: {...length(0), 'content-encoding': 'gzip'}, code: 'unsupported-content-encoding'},
];

describe('the knative gate', () => {
  it.each(cases)('$name: $code', c => {
    expect(gateRefusal({method: c.method, headers: c.headers})?.code).toBe(c.code);
  });

  it('answers 411, 413 and 415 as Kubernetes Status objects that are also our {"error": {code, message}}', () => {
    const answers = [
      gateRefusal({method: 'POST', headers: {'transfer-encoding': 'chunked'}}),
      gateRefusal({method: 'POST', headers: length(MAX_BODY_BYTES + 1)}),
      gateRefusal({method: 'POST', headers: {...length(300), 'content-encoding': 'gzip'}}),
    ].map(r => r?.answer);
    expect(answers.map(a => a?.status)).toEqual([411, 413, 415]);
    const bodies = answers.map(a => JSON.parse(a?.body ?? '{}'));
    expect(bodies.map(b => [b.reason, b.error.code])).toEqual([
      ['BadRequest', 'length-required'],
      ['RequestEntityTooLarge', 'body-too-large'],
      ['UnsupportedMediaType', 'unsupported-content-encoding'],
    ]);
    for (const body of bodies) expect(body).toMatchObject({kind: 'Status', apiVersion: 'v1', status: 'Failure', message: body.error.message});
    expect(bodies[1].message).toBe(`request body is ${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES}`);
    expect(bodies[2].message).toMatch(/Content-Encoding "gzip" is not accepted/);
    // RFC 9110: a 415 for a content coding says which codings are accepted.
    expect(answers[2]?.headers['accept-encoding']).toBe('identity');
  });

  it('echoes a client-chosen header value cut short', () => {
    const refused = gateRefusal({method: 'POST', headers: {...length(300), 'content-encoding': `gzip${'x'.repeat(10_000)}`}});
    expect(refused?.answer.body.length).toBeLessThan(1000);
  });
});
