// A campaign's worker thread: receives its settings once, then runs tasks one at a time and
// posts each result back. Every task boots fresh processes, which the thread drops when done.
// `{ gc: true }` asks for a full collection (the campaign's RSS figures), answered with `{ gc: true }`.

import { parentPort } from "node:worker_threads";
import { collectGarbage } from "./gc.js";
import { runTask, type Task, type TaskSettings } from "./task.js";

let settings: TaskSettings | null = null;

parentPort!.on("message", (msg: { settings?: TaskSettings; task?: Task; gc?: boolean }) => {
  if (msg.settings) settings = msg.settings;
  if (msg.gc) {
    collectGarbage();
    parentPort!.postMessage({ gc: true });
  }
  if (!msg.task) return;
  runTask(msg.task, settings!).then(
    (result) => parentPort!.postMessage({ result }),
    (err: Error) => parentPort!.postMessage({ error: err.stack ?? err.message }),
  );
});
