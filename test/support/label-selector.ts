/** Kubernetes label selectors, evaluated the way the apiserver does, for offline checks of the manifests. */

export interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Requirement[];
}

/** Label-selector semantics: matchLabels AND every matchExpression; no selector selects everything. */
export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  const labelsOk = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressionsOk = (selector.matchExpressions ?? []).every(r => {
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        return value !== undefined && (r.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(r.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
    }
  });
  return labelsOk && expressionsOk;
}

/** The labels the apiserver gives a namespace (kubernetes.io/metadata.name is set on every one). */
export const namespaceLabels = (name: string, extra: Record<string, string> = {}): Record<string, string> => ({'kubernetes.io/metadata.name': name, ...extra});
