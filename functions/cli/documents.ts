/**
 * Manifests in and out of the CLI: multi-document YAML (or JSON), with `kind: List` unpacked.
 * A document nothing was injected into is written back byte for byte; into an injected one the
 * webhook's patch is inserted as new lines in the document's own layout (splice.ts), so the user's
 * lines and comments stay as they were. The CLI is therefore safe to run over a whole GitOps
 * folder, and on its own output (which it leaves unchanged).
 */
import type {Operation} from 'fast-json-patch';
import {isCollection, isSeq, parseAllDocuments, visit, type Document} from 'yaml';
import {diffPatch} from '../admission/patch';
import type {VersionedConfig, WorkloadMode} from '../core/config';
import {injectObject} from '../core/inject-object';
import {isObject, isStringMap, own, unescapePointerToken, type JsonObject} from '../core/json';
import type {NamespaceMeta} from '../core/namespace';
import {groupKindOf} from '../core/kinds';
import {detectLayout, type Layout} from './layout';
import {lineOf, ManifestError, yamlProblem} from './problems';
import {PARSE_OPTIONS, spliceDocument, TO_JS_OPTIONS} from './splice';

export interface DocumentReport {
  readonly where: string;
  readonly injected: boolean;
  readonly warnings: readonly string[];
}

export interface InjectedText {
  readonly text: string;
  readonly reports: readonly DocumentReport[];
}

const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

function describe(obj: unknown): string {
  if (!isObject(obj)) return 'document';
  const metadata = own(obj, 'metadata');
  const name = isObject(metadata) ? (own(metadata, 'name') ?? own(metadata, 'generateName')) : undefined;
  return `${text(own(obj, 'kind'), 'object')}/${text(name, '(unnamed)')}`;
}

/** The CLI has no admission request uid: the object's identity seeds generated values instead. */
export function seedOf(obj: unknown): string {
  if (!isObject(obj)) return '';
  const metadata = own(obj, 'metadata');
  const field = (key: string): string => (isObject(metadata) ? text(own(metadata, key), '') : '');
  return [text(own(obj, 'apiVersion'), ''), text(own(obj, 'kind'), ''), field('namespace'), field('name'), field('generateName')].join('/');
}

/**
 * Namespaces as the CLI knows them: from Namespace manifests in its input, else the defaults given
 * by flags (or none: no namespace-level request, privileged Pod Security level).
 */
export interface NamespaceContext {
  readonly byName: ReadonlyMap<string, NamespaceMeta>;
  readonly fallback: NamespaceMeta | undefined;
}

const NO_NAMESPACES: NamespaceContext = {byName: new Map(), fallback: undefined};

const stringMap = (value: unknown): Record<string, string> => (isStringMap(value) ? value : {});

/** Every Namespace object in the given manifest texts (Lists included), by name. */
export function collectNamespaces(texts: readonly string[]): Map<string, NamespaceMeta> {
  const found = new Map<string, NamespaceMeta>();
  for (const text of texts) {
    for (const doc of parseAllDocuments(text, PARSE_OPTIONS) as Document[]) {
      if (doc.errors.length > 0 || doc.contents === null) continue;
      const obj: unknown = doc.toJS(TO_JS_OPTIONS);
      const items = isObject(obj) && own(obj, 'kind') === 'List' && Array.isArray(own(obj, 'items')) ? (own(obj, 'items') as unknown[]) : [obj];
      for (const item of items) {
        if (!isObject(item) || own(item, 'kind') !== 'Namespace' || own(item, 'apiVersion') !== 'v1') continue;
        const metadata = own(item, 'metadata');
        const name = isObject(metadata) ? own(metadata, 'name') : undefined;
        if (!isObject(metadata) || typeof name !== 'string') continue;
        found.set(name, {annotations: stringMap(own(metadata, 'annotations')), labels: stringMap(own(metadata, 'labels'))});
      }
    }
  }
  return found;
}

function namespaceOf(obj: JsonObject, namespaces: NamespaceContext): NamespaceMeta | undefined {
  const metadata = own(obj, 'metadata');
  const name = isObject(metadata) ? own(metadata, 'namespace') : undefined;
  return (typeof name === 'string' ? namespaces.byName.get(name) : undefined) ?? namespaces.fallback;
}

type ObjectOutcome = {object: unknown; injected: boolean; warnings: string[]};

/** How the objects are injected: `workloads` as the webhook would (golden files), or forced by the CLI. */
interface Injection {
  readonly versioned: VersionedConfig;
  readonly namespaces: NamespaceContext;
  readonly workloads: WorkloadMode;
}

function injectOne(obj: unknown, how: Injection): ObjectOutcome {
  if (!isObject(obj)) return {object: obj, injected: false, warnings: []};
  const apiVersion = own(obj, 'apiVersion');
  const kind = own(obj, 'kind');
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return {object: obj, injected: false, warnings: []};
  const result = injectObject(
    {kind: groupKindOf(apiVersion, kind), object: obj, seed: seedOf(obj), namespace: namespaceOf(obj, how.namespaces), workloads: how.workloads},
    how.versioned,
  );
  // Changed at all (with `workloads: pods`, a workload may only get the annotation copied).
  return {object: result.object, injected: result.object !== obj, warnings: result.warnings};
}

/** JSON pointer -> YAML path (sequence indexes as numbers). */
function yamlPath(doc: Document, pointer: string): Array<string | number> {
  const keys: Array<string | number> = [];
  for (const raw of pointer.split('/').slice(1)) {
    const key = unescapePointerToken(raw);
    keys.push(isSeq(doc.getIn(keys, true)) ? Number(key) : key);
  }
  return keys;
}

/**
 * The fallback to splicing: applies the webhook's own patch to the YAML tree, so the result is, by
 * construction, what the apiserver would store; comments mostly survive, the layout is the library's.
 */
function applyPatch(doc: Document, ops: readonly Operation[]): void {
  for (const op of ops) {
    const path = yamlPath(doc, op.path);
    if (op.op === 'remove') doc.deleteIn(path);
    else if (op.op === 'add' || op.op === 'replace') {
      const parent = doc.getIn(path.slice(0, -1), true);
      const last = path[path.length - 1];
      if (op.op === 'add' && isSeq(parent) && typeof last === 'number') parent.items.splice(last, 0, doc.createNode(op.value));
      else doc.setIn(path, doc.createNode(op.value));
    } else throw new ManifestError(`internal: unexpected patch op ${op.op}`);
  }
}

function hasAliases(doc: Document): boolean {
  let found = false;
  visit(doc, {
    Alias: () => {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/** The injected object, or undefined when nothing in the document was injected. */
function injectedObject(obj: unknown, how: Injection, reports: DocumentReport[]): unknown {
  const items = isObject(obj) && own(obj, 'kind') === 'List' ? own(obj, 'items') : undefined;
  if (Array.isArray(items)) {
    const outcomes = items.map(item => {
      const o = injectOne(item, how);
      reports.push({where: describe(item), injected: o.injected, warnings: o.warnings});
      return o;
    });
    return outcomes.some(o => o.injected) ? {...(obj as object), items: outcomes.map(o => o.object)} : undefined;
  }
  const o = injectOne(obj, how);
  reports.push({where: describe(obj), injected: o.injected, warnings: o.warnings});
  return o.injected ? o.object : undefined;
}

/** The document printed anew (its comments mostly kept): when inserting lines alone can't do it. */
function reprinted(doc: Document, obj: unknown, injected: unknown, layout: Layout): string {
  if (hasAliases(doc)) {
    // A patch written through an anchor would change every place that uses it; write the document
    // out anew instead (its own comments go, the injected result is the same).
    doc.contents = doc.createNode(injected);
  } else {
    applyPatch(doc, diffPatch(obj, injected));
  }
  return doc.toString({lineWidth: 0, flowCollectionPadding: false, indent: layout.step, indentSeq: layout.seqIndent > 0});
}

/**
 * Notes on a document that isn't a plain manifest, in our words (the yaml library would print its own
 * warning with no file name): a map or list used as a key, which is what an unquoted Go template
 * placeholder such as `{{ index .Labels "x" }}` parses as.
 */
function collectionKeys(doc: Document, text: string): string[] {
  const keys: Array<{line: number; source: string}> = [];
  visit(doc, {
    Pair(_key, pair) {
      const range = isCollection(pair.key) ? pair.key.range : undefined;
      if (range) keys.push({line: lineOf(text, range[0]), source: text.slice(range[0], range[1]).slice(0, 60)});
    },
  });
  const [first] = keys;
  if (first === undefined) return [];
  const more = keys.length > 1 ? ` (and ${keys.length - 1} more)` : '';
  return [
    `line ${first.line}: ${first.source} is a map or list used as a key${more}, which no Kubernetes object has: an unquoted {{ }} template placeholder? ` +
      'Render the template first, or quote the value; nsm-inject reads such a key as its text',
  ];
}

const isManifest = (obj: unknown): boolean => isObject(obj) && typeof own(obj, 'apiVersion') === 'string' && typeof own(obj, 'kind') === 'string';

/**
 * `workloads`: the CLI writes what runs, so it injects workloads' pod templates; the golden-file
 * tests also render what the webhook makes of them with the config's own mode.
 */
export function injectManifests(
  text: string,
  versioned: VersionedConfig,
  source: string,
  namespaces: NamespaceContext = NO_NAMESPACES,
  workloads: WorkloadMode = 'inject-template',
): InjectedText {
  const how: Injection = {versioned, namespaces, workloads};
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) return {text: '', reports: []};
  const errors = docs.flatMap(d => d.errors);
  if (errors.length > 0) throw yamlProblem(source, text, errors);
  const reports: DocumentReport[] = [];
  let out = '';
  docs.forEach((doc, i) => {
    // Each document owns the text from its start (its `---`) to the next one's; the first owns any
    // leading comments too. Untouched documents are copied byte for byte.
    const from = i === 0 ? 0 : doc.range[0];
    const ownText = text.slice(from, docs[i + 1]?.range[0] ?? text.length);
    if (doc.contents === null) {
      out += ownText;
      return;
    }
    const obj: unknown = doc.toJS(TO_JS_OPTIONS);
    const notes = collectionKeys(doc, text);
    const manifest = isManifest(obj);
    if (!manifest) notes.push(`line ${lineOf(text, doc.contents.range?.[0] ?? from)}: not a Kubernetes object (no apiVersion and kind); printed as it is`);
    if (notes.length > 0) reports.push({where: manifest ? describe(obj) : `document ${i + 1}`, injected: false, warnings: notes});
    const injected = injectedObject(obj, how, reports);
    if (injected === undefined) {
      out += ownText;
      return;
    }
    const layout = detectLayout(doc, text);
    const aliases = hasAliases(doc);
    const spliced = aliases ? undefined : spliceDocument(ownText, diffPatch(obj, injected), injected, layout);
    if (spliced !== undefined) {
      out += spliced;
      return;
    }
    out += reprinted(doc, obj, injected, layout);
    const why = aliases ? 'it uses YAML anchors, which an insertion would change everywhere they are used' : 'the injection could not be inserted into its lines';
    reports.push({where: describe(obj), injected: true, warnings: [`written out anew (${why}): its formatting and comments may differ from yours`]});
  });
  if (out !== '' && !out.endsWith('\n')) out += '\n';
  return {text: out, reports};
}
