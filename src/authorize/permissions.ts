// What an attributed credential must be allowed to do for this request, as its authenticator found it: an OAuth
// scope the token must hold, or a section of the portal the API key must be allowed to read or write.

import type { DenialStyle } from '../respond/errors.js';

export type Access = 'read' | 'write';

export interface ScopePermission {
  kind: 'scope';
  /** The scope the token holds (space-separated). */
  granted: string;
  required: string;
}

export interface SectionPermission {
  kind: 'section';
  access: Access;
  /** The section the request touches, or '*' for every configured section (the `sql` request type). */
  section: string;
  readable: ReadonlySet<string>;
  writable: ReadonlySet<string>;
  allSections: readonly string[];
}

export type Permission = ScopePermission | SectionPermission;

/** What the authorize stage needs to know of an attributed credential. */
export interface AuthorizationSubject {
  /** Absent when attribution alone decides. */
  permission?: Permission;
  /** Where the client put the credential: a header credential beside one in the path is a conflict. */
  carriedIn: 'header' | 'path';
  /** How a refusal is written (the face's wire format). */
  denialStyle: DenialStyle;
}
