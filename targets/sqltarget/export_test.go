package sqltarget

// SetGatherHook makes each loader of e call f when it is about to gather
// the loads queued behind one, with the number of jobs waiting on it: a
// test waits there until the loads it wants grouped are queued.
func (e *Engine[B]) SetGatherHook(f func(queued func() int)) { e.gatherHook = f }
