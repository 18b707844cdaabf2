// Import rules for src/, checked by `npm run arch` and by test/architecture.test.ts.
//
// A request travels through stage folders in a fixed order, and each way of authenticating (a face) plugs into
// that journey from the side. The rules keep the journey independent of any face, keep faces independent of each
// other, and let faces see only the small contracts the stages publish, so that a stage can be rewritten without
// touching a face and a face can be added without touching a stage.
//
// dependency-cruiser has no rule for cycles between folders; the test computes those from the cruise result.

/** The stages of the request's journey, in the order a request passes them. */
const STAGES = ['listener', 'target', 'route', 'authenticate', 'session', 'authorize', 'rewrite', 'forward', 'respond', 'pipeline'];

/**
 * The stage files a face may import: what a stage promises to faces. Anything else in a stage folder is that
 * stage's own business. Add a file here only when it is meant to be a contract; `*` stands for any file name.
 */
const STAGE_CONTRACTS = [
  'src/pipeline/face.ts',
  'src/authenticate/contract.ts',
  'src/session/liveness.ts',
  'src/authorize/permissions.ts',
  'src/target/request-target.ts',
  'src/route/own-endpoint.ts',
  'src/respond/*.ts',
];

/**
 * Stages a face stays out of whatever the contract list says: receiving and forwarding a request are the journey's
 * business, and of the pipeline a face sees only the face contract it implements.
 */
const STAGES_CLOSED_TO_FACES = ['listener', 'forward', 'pipeline'];
const OPEN_IN_CLOSED_STAGES = 'src/pipeline/face.ts';

const anyOf = (patterns) => `(${patterns.join('|')})`;
const globToPattern = (glob) => glob.replaceAll('.', '\\.').replaceAll('*', '[^/]+');
const STAGE_FOLDER = `^src/${anyOf(STAGES)}/`;
const CONTRACT_FILE = `^${anyOf(STAGE_CONTRACTS.map(globToPattern))}$`;
const OPEN_STAGE_FOLDER = `^src/${anyOf(STAGES.filter((stage) => !STAGES_CLOSED_TO_FACES.includes(stage)))}/`;
const CLOSED_STAGE_FOLDER = `^src/${anyOf(STAGES_CLOSED_TO_FACES)}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle means no file in it can be understood, tested or loaded without all the others.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'stage-imports-no-face',
      comment: 'The journey must work the same whichever faces are configured; faces plug in through the registry.',
      severity: 'error',
      from: { path: STAGE_FOLDER },
      to: { path: '^src/faces/' },
    },
    {
      name: 'face-imports-no-other-face',
      comment: 'Faces are alternatives: removing or changing one must not break another.',
      severity: 'error',
      from: { path: '^src/faces/([^/]+)/' },
      to: { path: '^src/faces/[^/]+/', pathNot: '^src/faces/$1/' },
    },
    {
      name: 'face-imports-stage-contracts-only',
      comment: 'Faces depend on what a stage promises (the STAGE_CONTRACTS list), not on how the stage does it.',
      severity: 'error',
      from: { path: '^src/faces/' },
      to: { path: OPEN_STAGE_FOLDER, pathNot: CONTRACT_FILE },
    },
    {
      name: 'face-imports-no-listener-forward-or-pipeline',
      comment: "Accepting connections, running the journey and talking to the upstream are never a face's job.",
      severity: 'error',
      from: { path: '^src/faces/' },
      to: { path: CLOSED_STAGE_FOLDER, pathNot: `^${globToPattern(OPEN_IN_CLOSED_STAGES)}$` },
    },
    {
      name: 'src-imports-no-test-or-bench',
      comment: 'Shipped code must not depend on test or benchmark code, which is not part of the package.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'store-imports-no-stage-or-face',
      comment: 'The store keeps records for everyone; knowing a stage or a face would tie it to one of its users.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: [STAGE_FOLDER, '^src/faces/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports couple files as much as value imports do, so they count.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
