/**
 * The JSON patch (RFC 6902) from an object to its injected copy, computed by fast-json-patch's
 * diff rather than written op by op, so that absent arrays and maps, and `/` or `~` in keys, are
 * handled by construction.
 */
import {compare, type Operation} from 'fast-json-patch';
import {isObject, own} from '../core/json';

/** managedFields never change and can be large: leave them out of the diff (and the patch). */
function withoutManagedFields(obj: unknown): unknown {
  if (!isObject(obj)) return obj;
  const metadata = own(obj, 'metadata');
  if (!isObject(metadata) || !('managedFields' in metadata)) return obj;
  const {managedFields: _ignored, ...rest} = metadata;
  return {...obj, metadata: rest};
}

export function diffPatch(original: unknown, injected: unknown): Operation[] {
  return compare(withoutManagedFields(original) as object, withoutManagedFields(injected) as object);
}
