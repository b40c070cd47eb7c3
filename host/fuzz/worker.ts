// A campaign's worker thread: receives its settings once, then runs tasks one at a time and
// posts each result back. Every task boots fresh processes, which the thread drops when done.

import { parentPort } from "node:worker_threads";
import { runTask, type Task, type TaskSettings } from "./task.js";

let settings: TaskSettings | null = null;

parentPort!.on("message", (msg: { settings?: TaskSettings; task?: Task }) => {
  if (msg.settings) settings = msg.settings;
  if (!msg.task) return;
  runTask(msg.task, settings!).then(
    (result) => parentPort!.postMessage({ result }),
    (err: Error) => parentPort!.postMessage({ error: err.stack ?? err.message }),
  );
});
