// The authorize stage: whether an attributed, live credential may do what this request does — the token's
// scope, the API key's read or write right on the section — and whether the request carries two credentials
// at once (a bearer token and an API key in the path), which would hand one of them to the upstream.

import { bearerDenial, type Denial } from '../respond/errors.js';
import type { RequestTarget } from '../target/request-target.js';
import type { AuthorizationSubject, Permission, SectionPermission } from './permissions.js';

/** Asks every face whether the path carries one of its credentials. */
export type PathCredentialCheck = (target: RequestTarget) => boolean;

export function authorize(attribution: AuthorizationSubject, target: RequestTarget, pathCarriesCredential: PathCredentialCheck): Denial | null {
  const refused = attribution.permission === undefined ? null : permissionDenied(attribution.permission);
  if (refused !== null) return { kind: 'denial', reason: refused, style: attribution.denialStyle };
  if (attribution.carriedIn === 'header' && pathCarriesCredential(target)) return bearerDenial('credentials_conflicting');
  return null;
}

function permissionDenied(permission: Permission): 'scope_insufficient' | 'key_lacks_read' | 'key_lacks_write' | null {
  if (permission.kind === 'scope') return hasScope(permission.granted, permission.required) ? null : 'scope_insufficient';
  if (sectionAllowed(permission)) return null;
  return permission.access === 'read' ? 'key_lacks_read' : 'key_lacks_write';
}

function hasScope(granted: string, required: string): boolean {
  if (granted === required) return true;
  return granted.split(' ').includes(required);
}

function sectionAllowed(permission: SectionPermission): boolean {
  const granted = permission.access === 'read' ? permission.readable : permission.writable;
  if (permission.section === '*') return permission.allSections.every((s) => granted.has(s));
  return granted.has(permission.section);
}
