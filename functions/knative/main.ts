/**
 * The knative profile's entry point: `node dist/functions/knative/main.js` (manifests/knative).
 *
 * The same function, on the same functions-framework app, as `functions-framework --target=mutate`
 * (the image's CMD, `npm start`), with a gate in front (knative/gate.ts) that refuses, before a
 * byte of it is read, a body the framework's parser would otherwise read whole (up to 1 GiB) or
 * inflate (gzip, deflate, br): 413 over 6 MiB, 411 without a Content-Length, 415 in a content coding.
 * What node's HTTP parser refuses (malformed framing, oversized headers) and an HTTP/1.1 request
 * without Host get our Status answers too (https/client-error.ts), not node's empty 400.
 * functions-framework has no option for its body limit, and Knative's queue-proxy and activator
 * none for a request's size.
 *
 * The app is the one the framework's public `getTestServer('mutate')` builds: its `getServer` with
 * the options the CLI parses from an environment without CLOUD_RUN_TIMEOUT_SECONDS, LOG_EXECUTION_ID
 * or IGNORED_ROUTES (Knative sets none of them). Not taken from the CLI: its handlers for uncaught
 * errors (which answer 500 to the latest request and exit 16; here node's default: exit 1) and for
 * SIGTERM, which we replace with a drain.
 */
import {createServer, type IncomingMessage, type RequestListener, type ServerResponse} from 'node:http';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import type {HttpAnswer} from '../http/errors';
import {pathOf} from '../http/handler';
import {answerClientErrors, hostRefusal, type ClientErrors} from '../https/client-error';
import {closeAfterLinger} from '../https/linger';
import {portSetting, shutdownSettings} from '../https/settings';
import {drainServer, stopOnSignals} from '../https/shutdown';
// Registers `mutate` with functions-framework and sets up the "started" line and the busy-port exit
// for the first listen() of the process (ops/listen.ts): ours, below.
import {runtime} from '../index';
import {gateRefusal, type GateRefusal} from './gate';

/** The express app functions-framework serves; `http.createServer(app)` made it the server's 'request' listener. */
function frameworkApp(): RequestListener {
  const [app] = getTestServer('mutate').listeners('request');
  if (typeof app !== 'function') throw new Error("functions-framework's server has no request listener");
  return app as RequestListener;
}

function start(settings: {port: number; shutdownDelayMs: number; shutdownGraceMs: number}): void {
  const {logger, metrics} = runtime;
  const app = frameworkApp();
  let draining = false;
  // Requests handed to the app and not yet answered. Once draining, their answers carry
  // `Connection: close` (the app writes its headers with the answer, at the end), so that their
  // keep-alive connections close instead of holding the drain until the grace period ends.
  const unanswered = new Set<ServerResponse>();
  const closeAfterAnswer = (res: ServerResponse): void => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  };

  const answerAndClose = (req: IncomingMessage, res: ServerResponse, answer: HttpAnswer): void => {
    closeAfterLinger(req);
    const {status, headers, body} = answer;
    res.writeHead(status, {...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close'});
    res.end(body);
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, refused: GateRefusal): void => {
    logger.log('warn', 'request refused before reading its body', {path: pathOf(req.url), ...refused.fields});
    metrics.refusal(refused.code);
    answerAndClose(req, res, refused.answer);
  };

  /** Through the gate to the app; `invite` sends the 100 Continue a client asked for, once admitted. */
  const serve = (req: IncomingMessage, res: ServerResponse, invite: boolean): void => {
    const malformed = hostRefusal(req);
    if (malformed !== undefined) {
      clientErrors.refused(malformed, req.socket);
      answerAndClose(req, res, malformed.answer);
      return;
    }
    const refused = gateRefusal({method: req.method ?? 'GET', headers: req.headers});
    if (refused !== undefined) {
      refuse(req, res, refused);
      return;
    }
    if (invite) res.writeContinue();
    if (draining) closeAfterAnswer(res);
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    app(req, res);
  };

  // requireHostHeader: refused in serve() with a message, rather than by node with an empty 400.
  const server = createServer({requireHostHeader: false}, (req, res) => serve(req, res, false));
  // Also counts and logs serve()'s refusals of requests without Host (made once the server serves).
  const clientErrors: ClientErrors = answerClientErrors(server, {logger, onRefusal: code => metrics.refusal(code)});
  // `Expect: 100-continue`: without this listener node would invite every body before we looked.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serve(req, res, true));
  server.on('error', error => {
    // Before listening, index.ts's listen outcome reports it (one line, exit 1).
    if (!server.listening) return;
    logger.log('error', 'HTTP server failed', {error: String(error)});
    process.exit(1);
  });
  server.listen(settings.port);

  stopOnSignals({
    logger,
    delayMs: settings.shutdownDelayMs,
    graceMs: settings.shutdownGraceMs,
    drain: graceMs => {
      draining = true;
      clientErrors.end();
      unanswered.forEach(closeAfterAnswer);
      return drainServer(server, graceMs);
    },
    close: () => runtime.close(),
  });
}

try {
  start({port: portSetting(process.env, 8080), ...shutdownSettings(process.env)});
} catch (error) {
  process.stderr.write(`nsm-sidecar-injector: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
