import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createHandler} from '../../functions/http/handler';
import {createRuntime} from '../../functions/runtime';
import type {HttpAnswer} from '../../functions/http/errors';
import {silentLogger} from '../../functions/ops/log';
import {annotatedPod, defaultConfig, review} from '../support/fixtures';

describe('the handler without a valid config', () => {
  const handle = createHandler({config: () => undefined, logger: silentLogger});
  const post = (text: string) => handle({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(text)}});

  it('still refuses bad input with a 4xx (the client is at fault, whatever our state)', async () => {
    expect((await post('{bad')).status).toBe(400);
    expect((await post('{"hello":1}')).status).toBe(400);
  });

  it('answers 503 to a valid review and to the health checks', async () => {
    const answer = await post(JSON.stringify(review(annotatedPod())));
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({error: {code: 'not-ready', message: 'no valid injector config is loaded'}});
    expect((await handle({method: 'GET', path: '/readyz', body: undefined})).status).toBe(503);
  });
});

describe('runtime settings from the environment', () => {
  it('logs a bad namespace lookup number and uses the default instead of breaking every lookup', () => {
    const dir = mkdtempSync('/tmp/nsm-env-');
    writeFileSync(`${dir}/token`, 't');
    writeFileSync(`${dir}/ca.crt`, '');
    const lines: string[] = [];
    const runtime = createRuntime({
      env: {NAMESPACE_LOOKUP: 'on', KUBE_API_URL: 'https://127.0.0.1:1', KUBE_TOKEN_FILE: `${dir}/token`, KUBE_CA_FILE: `${dir}/ca.crt`, NAMESPACE_LOOKUP_TIMEOUT_MS: 'soon', NAMESPACE_CACHE_TTL_SECONDS: '-5'},
      logger: {log: (_level, message) => lines.push(message)},
      watch: false,
    });
    runtime.close();
    rmSync(dir, {recursive: true});
    expect(lines).toEqual(expect.arrayContaining(['NAMESPACE_LOOKUP_TIMEOUT_MS must be a positive number; using the default', 'NAMESPACE_CACHE_TTL_SECONDS must be a positive number; using the default']));
  });
});

describe('the handler answers synchronously when it has nothing to wait for', () => {
  // functions-framework runs each call in a domain, where every promise costs (docs/benchmarks.md).
  const post = (object: unknown, operation = 'CREATE') => ({method: 'POST', path: '/mutate', body: {bytes: Buffer.from(JSON.stringify(review(object, {operation})))}});

  it('without a namespace source: an answer, not a promise', () => {
    const handle = createHandler({config: () => defaultConfig(), logger: silentLogger});
    const answer = handle(post(annotatedPod()));
    expect(answer).not.toBeInstanceOf(Promise);
    expect((answer as HttpAnswer).status).toBe(200);
    expect(JSON.parse((answer as HttpAnswer).body).response.patch).toEqual(expect.any(String));
  });

  it('with a namespace source: a promise for a CREATE it may mutate, an answer for anything else', async () => {
    const handle = createHandler({config: () => defaultConfig(), logger: silentLogger, namespaces: {lookup: async () => ({ok: false, reason: 'down'})}});
    const create = handle(post(annotatedPod()));
    expect(create).toBeInstanceOf(Promise);
    expect((await create).status).toBe(200);
    expect(handle(post(annotatedPod(), 'UPDATE'))).not.toBeInstanceOf(Promise);
  });
});
