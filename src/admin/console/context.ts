// What every console page is handed: the grid services the JSON admin API uses too (so both validate, version
// and audit alike), the store and clock for the Tokens and Audit pages, and the signed-in session.

import type { Request, Response } from 'express';
import type { GridContext } from '../grids/handler.js';
import type { ManagedGrids } from '../managed/grids.js';
import type { ConsoleSession } from './session.js';

export interface ConsoleContext {
  grids: ManagedGrids;
  /** The admin API's shared helpers: the store, the clock, the running config, audited revocations. */
  admin: GridContext;
}

/** The session of a signed-in request (set by the console's guard before any page runs). */
export function sessionOf(res: Response): ConsoleSession {
  const session = res.locals.console;
  if (session === undefined) throw new Error('console page reached without a session');
  return session;
}

/** Whether the signed-in admin token may change things; pages hide their controls otherwise. */
export const canManage = (res: Response): boolean => sessionOf(res).role === 'manage';

/** A query-string value, or '' when absent or repeated. */
export function queryText(req: Request, name: string): string {
  const value = req.query[name];
  return typeof value === 'string' ? value : '';
}

declare global {
  namespace Express {
    interface Locals {
      /** Set by the console guard for every signed-in console request. */
      console?: ConsoleSession;
    }
  }
}

export type ConsolePage = (router: import('express').Router, context: ConsoleContext) => void;
