package runner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/project"
	"github.com/singerkit/singerkit/internal/statestore"
	"github.com/singerkit/singerkit/internal/streammap"
)

// Exit codes of `singer run`.
const (
	ExitOK     = 0
	ExitFailed = 1 // a tap or target failed, or the run was interrupted or timed out
	ExitUsage  = 2 // bad flags, an invalid project file, or a child's usage error
	ExitLocked = 3 // another run of the pipeline holds its lock; nothing was touched
)

// Runner runs the pipelines of one project.
type Runner struct {
	Project        *project.Project
	Store          statestore.Store
	Log            *Logger
	RefreshCatalog bool
	// Backoff is the wait before the first retry; it doubles each retry
	// (capped at a minute).
	Backoff time.Duration
	// Abort, when done, kills both children at once (a second signal).
	Abort <-chan struct{}
	// Grace is how long a child may take to exit after SIGTERM before it is
	// killed.
	Grace time.Duration
	// Progress draws a live progress line every ProgressEvery (a second
	// when zero): for a terminal, with text logs.
	Progress      bool
	ProgressEvery time.Duration
}

// showProgress redraws the progress line until the returned stop is
// called, which removes it.
func (r *Runner) showProgress(pipeline string, tapPID int, saved *atomic.Int64) (stop func()) {
	every := r.ProgressEvery
	if every == 0 {
		every = time.Second
	}
	p := &progress{pipeline: pipeline, tapPID: tapPID, saved: saved, start: time.Now()}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				r.Log.Status(p.line(now))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		r.Log.Status("")
	}
}

// Result is the outcome of one pipeline run (its last attempt).
type Result struct {
	Run  statestore.Run
	Code int
}

// childError is a failed child: its role and exit code.
type childError struct {
	who  string
	code int
	err  error
}

func (e *childError) Error() string {
	if e.code >= 0 {
		return fmt.Sprintf("%s exited with code %d", e.who, e.code)
	}
	return fmt.Sprintf("%s: %v", e.who, e.err)
}

// Run runs one pipeline with its retries. The returned error is one line.
func (r *Runner) Run(ctx context.Context, name string) Result {
	pl, ok := r.Project.Pipelines[name]
	if !ok {
		r.Log.Errorf(name, "no pipeline named %q in %s (pipelines: %s)", name, filepath.Base(r.Project.Path), strings.Join(r.Project.PipelineNames(), ", "))
		return Result{Code: ExitUsage}
	}
	unlock, err := r.Store.Lock(ctx, name)
	if errors.Is(err, statestore.ErrLocked) {
		r.Log.Errorf(name, "another run of %s is in progress (it holds the lock); this run did not start", name)
		return Result{Code: ExitLocked}
	}
	if err != nil {
		r.Log.Errorf(name, "%v", err)
		return Result{Code: ExitFailed}
	}
	defer unlock()

	backoff := r.Backoff
	if backoff == 0 {
		backoff = 5 * time.Second
	}
	var res Result
	for attempt := 1; ; attempt++ {
		res = r.attempt(ctx, pl, attempt)
		if err := r.Store.AddRun(context.WithoutCancel(ctx), res.Run); err != nil {
			r.Log.Errorf(name, "recording the run history: %v", err)
		}
		r.summary(pl, res)
		if res.Code == ExitOK || res.Code == ExitUsage || ctx.Err() != nil || res.Run.Status == "interrupted" || res.Run.Status == "timeout" || attempt > pl.Retries {
			return res
		}
		r.Log.Infof(name, "attempt %d failed (%s); retrying in %s from the saved state (%d of %d retries)", attempt, res.Run.Error, backoff, attempt, pl.Retries)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return res
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (r *Runner) summary(pl *project.Pipeline, res Result) {
	run := res.Run
	streams := make([]string, 0, len(run.Records))
	for s := range run.Records {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	parts := make([]string, 0, len(streams))
	for _, s := range streams {
		parts = append(parts, fmt.Sprintf("%s %d", s, run.Records[s]))
	}
	recs := "none reported"
	if len(parts) > 0 {
		recs = strings.Join(parts, ", ")
	}
	r.Log.Summary(pl.Name, run, fmt.Sprintf("%s: %s in %s (attempt %d); records: %s; states saved: %d", pl.Name, run.Status, run.End.Sub(run.Start).Round(time.Millisecond), run.Attempt, recs, run.StatesSaved))
}

// attempt runs the tap and target once.
func (r *Runner) attempt(ctx context.Context, pl *project.Pipeline, n int) (res Result) {
	res.Run = statestore.Run{Pipeline: pl.Name, Attempt: n, Start: time.Now().UTC(), Records: map[string]int64{}, TapExit: -1, TargetExit: -1}
	defer func() {
		res.Run.End = time.Now().UTC()
		switch {
		case res.Code == ExitOK:
			res.Run.Status = "success"
		case res.Run.Status == "":
			res.Run.Status = "failed"
		}
	}()
	fail := func(code int, format string, args ...any) Result {
		res.Code = code
		res.Run.Error = fmt.Sprintf(format, args...)
		r.Log.Errorf(pl.Name, "%s", res.Run.Error)
		return res
	}
	tap := r.Project.Connectors[pl.Tap]
	target := r.Project.Connectors[pl.Target]

	tmp, err := os.MkdirTemp("", "singer-run-")
	if err != nil {
		return fail(ExitFailed, "creating a temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	tapCfg, err := writeJSON(tmp, "tap-config.json", tap.Config)
	if err != nil {
		return fail(ExitFailed, "%v", err)
	}
	targetCfg, err := writeJSON(tmp, "target-config.json", target.Config)
	if err != nil {
		return fail(ExitFailed, "%v", err)
	}
	tapPath, err := r.executable(tap)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	targetPath, err := r.executable(target)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	cat, err := r.catalog(ctx, tap, tapPath, tapCfg)
	if err != nil {
		var ce *childError
		if errors.As(err, &ce) && ce.code == 2 {
			return fail(ExitUsage, "discovery: %v", err)
		}
		return fail(ExitFailed, "discovery: %v", err)
	}
	selected, _, err := applySelection(cat, selectPatterns(tap), tap.Metadata)
	if err != nil {
		return fail(ExitFailed, "catalog of %s: %v", tap.Name, err)
	}
	catPath := filepath.Join(tmp, "catalog.json")
	if err := os.WriteFile(catPath, selected, 0o600); err != nil {
		return fail(ExitFailed, "writing the catalog: %v", err)
	}
	tapArgs := append(append([]string{}, tap.Args...), "--config", tapCfg, "--catalog", catPath)
	state, err := r.Store.State(ctx, pl.Name)
	if err != nil {
		return fail(ExitFailed, "%v", err)
	}
	if state != nil {
		sp := filepath.Join(tmp, "state.json")
		if err := os.WriteFile(sp, state, 0o600); err != nil {
			return fail(ExitFailed, "writing the state: %v", err)
		}
		tapArgs = append(tapArgs, "--state", sp)
	}

	if pl.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, pl.Timeout, errTimeout)
		defer cancel()
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(ExitFailed, "creating the pipe: %v", err)
	}
	// With maps, the runner sits between the two: the tap writes into a
	// second pipe whose other end the runner maps into the target's.
	var maps *streammap.Mapper
	var mapIn *os.File // the runner's end of the tap's stdout
	tapOut := pw
	if pl.Maps != nil {
		if maps, err = streammap.Compile(*pl.Maps); err != nil {
			pr.Close()
			pw.Close()
			return fail(ExitUsage, "maps: %v", err)
		}
		mr, mw, err := os.Pipe()
		if err != nil {
			pr.Close()
			pw.Close()
			return fail(ExitFailed, "creating the pipe: %v", err)
		}
		mapIn, tapOut = mr, mw
	}
	closePipes := func() {
		pr.Close()
		pw.Close()
		if mapIn != nil {
			mapIn.Close()
			tapOut.Close()
		}
	}
	tapCmd := r.command(tapPath, tapArgs)
	tapCmd.Stdout = tapOut
	tapErr, err := r.Log.Child(tap.Name, tapCmd, res.Run.Records)
	if err != nil {
		closePipes()
		return fail(ExitFailed, "%v", err)
	}
	targetCmd := r.command(targetPath, append(append([]string{}, target.Args...), "--config", targetCfg))
	targetCmd.Stdin = pr
	targetOut, err := targetCmd.StdoutPipe()
	if err != nil {
		closePipes()
		return fail(ExitFailed, "%v", err)
	}
	targetErr, err := r.Log.Child(target.Name, targetCmd, nil)
	if err != nil {
		closePipes()
		return fail(ExitFailed, "%v", err)
	}
	if err := targetCmd.Start(); err != nil {
		closePipes()
		return fail(ExitUsage, "starting %s (%s): %v", target.Name, target.Command, err)
	}
	if err := tapCmd.Start(); err != nil {
		closePipes()
		targetCmd.Wait()
		return fail(ExitUsage, "starting %s (%s): %v", tap.Name, tap.Command, err)
	}
	// The children hold the pipe now; the runner keeps no end of it, so the
	// target sees EOF when the tap exits. With maps the runner keeps the
	// reading end of the tap's pipe and the writing end of the target's,
	// and closes the latter when the tap's output ends.
	pr.Close()
	if mapIn != nil {
		tapOut.Close()
	} else {
		pw.Close()
	}
	mapDone := make(chan error, 1)
	if maps != nil {
		maps.Warn = func(msg string) { r.Log.Infof(pl.Name, "maps: %s", msg) }
		go func() {
			// Not cancelled by a signal: the tap is stopped and writes its
			// last state, which must pass to the target.
			err := maps.Run(context.WithoutCancel(ctx), mapIn, pw, maps.Warn)
			pw.Close()
			mapIn.Close() // a tap still writing gets EPIPE
			mapDone <- err
		}()
	} else {
		mapDone <- nil
	}

	// Save every state the target prints, as it arrives.
	var saved atomic.Int64
	if r.Progress {
		stop := r.showProgress(pl.Name, tapCmd.Process.Pid, &saved)
		defer stop()
	}
	var saveErr error
	statesDone := make(chan struct{})
	go func() {
		defer close(statesDone)
		br := bufio.NewReaderSize(targetOut, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			line = bytes.TrimSpace(line)
			if len(line) > 0 && saveErr == nil {
				if verr := statestore.ValidState(line); verr != nil {
					r.Log.Infof(pl.Name, "%s printed a line that is not a JSON state on stdout; ignored", target.Name)
				} else if serr := r.Store.SetState(context.WithoutCancel(ctx), pl.Name, line); serr != nil {
					saveErr = serr
				} else {
					res.Run.StatesSaved++
					saved.Add(1)
				}
			}
			if err != nil {
				return
			}
		}
	}()

	tapDone := make(chan error, 1)
	targetDone := make(chan error, 1)
	go func() { err := tapCmd.Wait(); tapErr.Wait(); tapDone <- err }()
	go func() {
		<-statesDone
		err := targetCmd.Wait()
		targetErr.Wait()
		targetDone <- err
	}()

	var tapRes, targetRes error
	tapExited, targetExited := false, false
	stopped := false
	stopTap := func() {
		if !stopped && !tapExited {
			stopped = true
			tapCmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace := r.Grace
	if grace == 0 {
		grace = 30 * time.Second
	}
	var killTimer <-chan time.Time
	ctxDone := ctx.Done()
	for !tapExited || !targetExited {
		select {
		case tapRes = <-tapDone:
			tapExited = true
		case targetRes = <-targetDone:
			targetExited = true
			if !tapExited {
				// The target is gone: nothing the tap sends can land.
				stopTap()
				killTimer = time.After(grace)
			}
		case <-ctxDone:
			ctxDone = nil
			if errors.Is(context.Cause(ctx), errTimeout) {
				res.Run.Status = "timeout"
				r.Log.Infof(pl.Name, "timeout %s expired: stopping %s; %s finishes what it read", pl.Timeout, tap.Name, target.Name)
			} else {
				res.Run.Status = "interrupted"
				r.Log.Infof(pl.Name, "interrupted: stopping %s; %s finishes what it read", tap.Name, target.Name)
			}
			stopTap()
		case <-r.Abort:
			r.Abort = nil
			if !tapExited {
				tapCmd.Process.Kill()
			}
			if !targetExited {
				targetCmd.Process.Kill()
			}
		case <-killTimer:
			if !tapExited {
				tapCmd.Process.Kill()
			}
		}
	}
	res.Run.TapExit = exitCode(tapRes)
	res.Run.TargetExit = exitCode(targetRes)
	mapErr := <-mapDone
	switch {
	case saveErr != nil:
		return fail(ExitFailed, "%v", saveErr)
	case res.Run.Status == "interrupted" || res.Run.Status == "timeout":
		res.Code = ExitFailed
		res.Run.Error = res.Run.Status
		return res
	case targetRes != nil && !stopped:
		if res.Run.TargetExit == 2 {
			return fail(ExitUsage, "%s exited with code 2 (a usage or config error: not retried)", target.Name)
		}
		if tapRes != nil && !stopped {
			return fail(ExitFailed, "%s exited with code %d and %s with code %d", tap.Name, res.Run.TapExit, target.Name, res.Run.TargetExit)
		}
		return fail(ExitFailed, "%s exited with code %d", target.Name, res.Run.TargetExit)
	case targetRes != nil:
		return fail(ExitFailed, "%s exited with code %d; %s was stopped", target.Name, res.Run.TargetExit, tap.Name)
	case mapErr != nil:
		// The target committed what the maps passed before the error; a
		// tap that failed too failed first or for want of a reader.
		code, also := ExitFailed, ""
		if tapRes != nil {
			also = fmt.Sprintf("; %s exited with code %d", tap.Name, res.Run.TapExit)
		}
		if cli.ExitCode(mapErr) == ExitUsage {
			code, also = ExitUsage, also+" (a config error: not retried)"
		}
		return fail(code, "maps: %v%s", mapErr, also)
	case tapRes != nil:
		if res.Run.TapExit == 2 {
			return fail(ExitUsage, "%s exited with code 2 (a usage or config error: not retried)", tap.Name)
		}
		return fail(ExitFailed, "%s exited with code %d; %s committed what it read", tap.Name, res.Run.TapExit, target.Name)
	}
	res.Code = ExitOK
	return res
}

var errTimeout = errors.New("pipeline timeout")

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		return 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
	}
	return -1
}

func (r *Runner) command(path string, args []string) *exec.Cmd {
	c := exec.Command(path, args...)
	c.Dir = r.Project.Dir
	c.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C on the terminal reaches the runner
		// only, which stops the tap first. Pdeathsig: a killed runner takes
		// its children with it.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	return c
}

// executable resolves a connector's command: a path (relative to the
// project directory) or a name on PATH.
func (r *Runner) executable(c *project.Connector) (string, error) {
	cmd := c.Command
	if strings.Contains(cmd, "/") {
		if !filepath.IsAbs(cmd) {
			cmd = filepath.Join(r.Project.Dir, cmd)
		}
		if _, err := os.Stat(cmd); err != nil {
			return "", fmt.Errorf("connector %s: command %s not found (fix connectors.%s.command)", c.Name, c.Command, c.Name)
		}
		return cmd, nil
	}
	p, err := exec.LookPath(cmd)
	if err != nil {
		return "", fmt.Errorf("connector %s: command %q is not on PATH (install it, or give its path in connectors.%s.command)", c.Name, c.Command, c.Name)
	}
	return p, nil
}

// writeJSON writes v to dir/name, 0600.
func writeJSON(dir, name string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding %s: %w", name, err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	return p, nil
}

func selectPatterns(c *project.Connector) []string {
	if len(c.Select) == 0 {
		return []string{"*.*"}
	}
	return c.Select
}

// configHash names a connector's cached catalog: a change of command or
// config discovers again. Secret values (config.IsSecretKey) are left out:
// a file name must not let anyone test password guesses offline, and a new
// password does not change what discovery finds.
func configHash(c *project.Connector) string {
	b, _ := json.Marshal(struct {
		Command string
		Args    []string
		Config  any
	}{c.Command, c.Args, withoutSecrets(c.Config)})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// withoutSecrets is v with the values of secret keys, at any depth,
// replaced by whether they were set.
func withoutSecrets(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if config.IsSecretKey(k) {
				out[k] = x != nil && x != ""
				continue
			}
			out[k] = withoutSecrets(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutSecrets(x)
		}
		return out
	}
	return v
}

// catalog returns the tap's catalog: the connector's catalog file, the
// cached discovery, or a new discovery (cached 0600 under .singer/catalog).
func (r *Runner) catalog(ctx context.Context, c *project.Connector, path, cfg string) ([]byte, error) {
	if c.Catalog != "" {
		p := c.Catalog
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.Project.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading connectors.%s.catalog: %w", c.Name, err)
		}
		return b, nil
	}
	dir := filepath.Join(r.Project.Dir, ".singer", "catalog")
	cache := filepath.Join(dir, c.Name+"-"+configHash(c)+".json")
	if !r.RefreshCatalog {
		if b, err := os.ReadFile(cache); err == nil {
			return b, nil
		}
	}
	return r.discover(ctx, c, path, cfg, dir, cache)
}

func (r *Runner) discover(ctx context.Context, c *project.Connector, path, cfg, dir, cache string) ([]byte, error) {
	cmd := r.command(path, append(append([]string{}, c.Args...), "--config", cfg, "--discover"))
	var out bytes.Buffer
	cmd.Stdout = &out
	w, err := r.Log.Child(c.Name, cmd, nil)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", c.Name, c.Command, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		werr = <-done
	}
	w.Wait()
	if werr != nil {
		return nil, &childError{who: c.Name + " --discover", code: exitCode(werr), err: werr}
	}
	if !json.Valid(out.Bytes()) {
		return nil, fmt.Errorf("%s --discover printed no JSON catalog", c.Name)
	}
	if err := os.MkdirAll(dir, 0o700); err == nil {
		tmp, err := os.CreateTemp(dir, ".discover-*")
		if err == nil {
			_, err = tmp.Write(out.Bytes())
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), cache)
			}
			if err != nil {
				os.Remove(tmp.Name())
			}
		}
	}
	return out.Bytes(), nil
}
