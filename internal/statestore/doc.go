// Package statestore keeps what `singer run` must remember between runs:
// the last committed Singer state of each pipeline, a lock so one pipeline
// runs once at a time, and the run history.
//
// A store is one small interface (Store); Open picks the implementation
// from a URL. file://DIR keeps a file per pipeline, written atomically
// (temp file, fsync, rename, fsync of the directory) and locked with
// flock, which the kernel releases when the process dies:
//
//	st, err := statestore.Open(ctx, "file://.singer/state", projectDir)
//	unlock, err := st.Lock(ctx, "shop-to-warehouse") // ErrLocked if it runs elsewhere
//	defer unlock()
//	err = st.SetState(ctx, "shop-to-warehouse", []byte(`{"bookmarks":{}}`))
package statestore
