/** Every step event of the run, one JSON object per line, written as it happens. */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventBus, StepEvent } from '../core/events.js';
import { redactValue } from '../core/redact.js';

/** `earlier`: events of the run from before the log was opened (a pool job's wait for a target), written first. */
export function writeEventLog(bus: EventBus, path: string, earlier: readonly StepEvent[] = []): () => void {
  const fd = openSync(path, 'a');
  for (const event of earlier) writeSync(fd, `${JSON.stringify(redactValue(event))}\n`);
  const unsubscribe = bus.subscribe((event) => writeSync(fd, `${JSON.stringify(redactValue(event))}\n`));
  return () => {
    unsubscribe();
    closeSync(fd);
  };
}
