// Background work (the timeline's checkpoint builder, the chart's replay) runs in the page's idle
// periods, in slices, so that it never delays a step or the first drawing. Node (the tests) has no
// requestIdleCallback: a timer stands in for it.

/** Calls `work` with a time budget (ms) when the page is idle; the handle cancels it. */
export function whenIdle(work: (budgetMs: number) => void): () => void {
  if (typeof requestIdleCallback === "function") {
    const id = requestIdleCallback((deadline) => work(Math.max(4, Math.min(12, deadline.timeRemaining()))), { timeout: 400 });
    return () => cancelIdleCallback(id);
  }
  const id = setTimeout(() => work(8), 0);
  return () => clearTimeout(id);
}
