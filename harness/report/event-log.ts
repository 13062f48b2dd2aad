/** Every step event of the run, one JSON object per line, written as it happens. */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventBus } from '../core/events.js';
import { redactValue } from '../core/redact.js';

export function writeEventLog(bus: EventBus, path: string): () => void {
  const fd = openSync(path, 'a');
  const unsubscribe = bus.subscribe((event) => writeSync(fd, `${JSON.stringify(redactValue(event))}\n`));
  return () => {
    unsubscribe();
    closeSync(fd);
  };
}
