// The faces this build speaks, by id, in the order their endpoints and authenticators are consulted. Adding a
// face is one folder under `src/faces/` and one line here; config that names an authenticator no face offers
// fails at start with the list of known ids.

import type { FaceDefinition } from '../pipeline/face.js';
import { oauthFace } from './oauth/face.js';
import { pcrFace } from './pcr/face.js';
import { externalJwtFace } from './external-jwt/face.js';

export const FACES: readonly FaceDefinition[] = [oauthFace, pcrFace, externalJwtFace];

/** Every authenticator id a route may name. */
export const KNOWN_AUTHENTICATOR_IDS: readonly string[] = FACES.flatMap((face) => face.authenticatorIds);
