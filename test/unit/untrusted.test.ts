/**
 * Pod authors are untrusted: whatever they put in their pod, what we inject is the config's, and
 * attempts to steer it are refused with a warning.
 */
import type {Container, Pod} from 'kubernetes-types/core/v1';
import {injectObject} from '../../functions/core/inject-object';
import {configWith, defaultConfig, NSM_ANNOTATION, pod} from '../support/fixtures';

const config = defaultConfig();
const ours = (p: Pod): Container[] => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].filter(c => c.name.startsWith('cmd-nsc'));
const expected = {
  images: ['ghcr.io/networkservicemesh/cmd-nsc-init:v1.18.0', 'ghcr.io/networkservicemesh/cmd-nsc:v1.18.0'],
  mounts: [
    ['spire-agent-socket', '/run/spire/sockets', true],
    ['nsm-socket', '/var/lib/networkservicemesh', true],
  ],
  volumes: config.config.volumes,
};

function inject(input: Pod) {
  const result = injectObject({kind: {group: '', kind: 'Pod'}, object: input, seed: 'u'}, config);
  const out = result.object as Pod;
  // What we added is exactly the config's, whatever the attempt.
  expect(ours(out).map(c => c.image)).toEqual(expected.images);
  for (const c of ours(out)) {
    expect(c.volumeMounts?.map(m => [m.name, m.mountPath, m.readOnly])).toEqual(expected.mounts);
    expect(c.securityContext).toBeUndefined();
    expect(Object.keys(c).sort()).toEqual(['env', 'image', 'imagePullPolicy', 'name', 'resources', 'volumeMounts']);
  }
  const added = (out.spec?.volumes ?? []).slice(input.spec?.volumes?.length ?? 0);
  expect(added).toEqual(expected.volumes);
  expect(out.spec?.hostNetwork).toBe(input.spec?.hostNetwork);
  expect(out.spec?.hostPID).toBe(input.spec?.hostPID);
  return result;
}

describe('a pod author cannot steer the injection', () => {
  it.each([
    ['pick the image', 'sidecar-injector.networkservicemesh.io/image', 'evil.example.com/nsc:latest'],
    ['add a hostPath volume', 'sidecar-injector.networkservicemesh.io/volumes', '[{"name":"root","hostPath":{"path":"/"}}]'],
    ['add capabilities', 'sidecar-injector.networkservicemesh.io/capabilities', 'NET_ADMIN,SYS_ADMIN'],
    ['ask for privileged mode', 'sidecar-injector.networkservicemesh.io/privileged', 'true'],
    ['ask for host namespaces', 'sidecar-injector.networkservicemesh.io/hostNetwork', 'true'],
    ['move the socket mounts', 'sidecar-injector.networkservicemesh.io/nsm-socket-path', '/etc'],
  ])('through an annotation: %s -> ignored with a warning', (_what, key, value) => {
    const result = inject(pod({annotations: {[NSM_ANNOTATION]: 'kernel://a/nsm-1', [key]: value}}));
    expect(result.warnings).toEqual([`annotation "${key}" is ignored: what is injected is set by the injector's config only`]);
  });

  it('names a few such annotations and counts the rest, so thousands cannot flood the answer', () => {
    const many = Object.fromEntries(Array.from({length: 1000}, (_, i) => [`sidecar-injector.networkservicemesh.io/knob-${i}`, 'x']));
    const result = inject(pod({annotations: {[NSM_ANNOTATION]: 'kernel://a/nsm-1', ...many}}));
    expect(result.warnings).toHaveLength(4);
    expect(result.warnings[3]).toBe('997 more annotations with the prefix sidecar-injector.networkservicemesh.io/ are ignored too');
  });

  it.each([
    ['an image parameter', 'kernel://a/nsm-1?image=evil.example.com/x:1&privileged=true&hostPath=/'],
    ['a mount path', 'kernel://a/nsm-1?mountPath=/etc&volume=hostPath'],
  ])('through the NS URL (%s): the URL reaches NSM as data, nothing else changes', (_what, url) => {
    const result = inject(pod({annotations: {[NSM_ANNOTATION]: url}}));
    expect(result.warnings).toEqual([]);
    const out = result.object as Pod;
    for (const c of ours(out)) expect(c.env?.find(e => e.name === 'NSM_NETWORK_SERVICES')?.value).toBe(url);
  });

  it('through an SR-IOV token naming a non-extended resource: refused with a warning', () => {
    const result = inject(pod({annotations: {[NSM_ANNOTATION]: 'kernel://a/nsm-1?sriovToken=memory,kernel://b/nsm-2?sriovToken=kubernetes.io/batch'}}));
    expect(result.warnings).toHaveLength(2);
    expect(result.warnings.every(w => w.includes('is not an extended resource name'))).toBe(true);
    expect(result.warnings.join()).not.toContain('memory');
    const init = ours(result.object as Pod)[0];
    expect(init?.resources).toEqual({requests: {cpu: '100m', memory: '40Mi'}, limits: {cpu: '200m', memory: '80Mi'}});
  });

  it('through an SR-IOV token naming a pool outside the config\'s sriovAllowedPools: refused with a warning', () => {
    const strict = configWith({sriovAllowedPools: ['worker.domain/100G']});
    const result = injectObject(
      {kind: {group: '', kind: 'Pod'}, object: pod({annotations: {[NSM_ANNOTATION]: 'kernel://a/n?sriovToken=worker.domain/100G,kernel://b/n?sriovToken=other.domain/gpu'}}), seed: 'u'},
      strict,
    );
    expect(result.warnings).toEqual(["a sriovToken value names a pool the injector's config does not allow (sriovAllowedPools); ignored"]);
    const init = ours(result.object as Pod)[0];
    expect(init?.resources?.limits).toEqual({cpu: '200m', memory: '80Mi', 'worker.domain/100G': '1'});
  });

  it('through its own volumes and containers named like ours: ours keep their own, renamed', () => {
    const input = pod({
      annotations: {[NSM_ANNOTATION]: 'kernel://a/nsm-1'},
      spec: {
        containers: [{name: 'app', image: 'a'}],
        volumes: [{name: 'nsm-socket', hostPath: {path: '/'}}, {name: 'spire-agent-socket', hostPath: {path: '/etc'}}],
        hostNetwork: true,
      },
    });
    const result = injectObject({kind: {group: '', kind: 'Pod'}, object: input, seed: 'u'}, config);
    const out = result.object as Pod;
    for (const c of ours(out)) expect(c.volumeMounts?.map(m => m.name)).toEqual(['spire-agent-socket-2', 'nsm-socket-2']);
    expect(out.spec?.volumes?.slice(2)).toEqual([
      {name: 'spire-agent-socket-2', hostPath: {path: '/run/spire/sockets', type: 'Directory'}},
      {name: 'nsm-socket-2', hostPath: {path: '/var/lib/networkservicemesh', type: 'Directory'}},
    ]);
    expect(result.warnings).toHaveLength(2);
  });
});
