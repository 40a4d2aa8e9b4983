/**
 * A module-loader hook that appends the URL of every module Node loads to the file named by
 * $NETCHECK_IMPORT_LOG: with it, a test sees which modules a command really loaded (ESM and, through
 * ESM, the packages' entry points), not which ones the source merely mentions.
 * Register with: node --import 'data:text/javascript,import{register}from"node:module";register("<this file URL>")'
 */
import { appendFileSync } from 'node:fs';

const log = process.env.NETCHECK_IMPORT_LOG;

export async function load(url, context, nextLoad) {
  if (log) appendFileSync(log, `${url}\n`);
  return nextLoad(url, context);
}
