package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// slotName is the replication slot: slot_name, else singerkit_<tap_id or
// dbname>.
func (d *Driver) slotName(ctx context.Context) (string, error) {
	if d.cfg.SlotName != "" {
		return d.cfg.SlotName, nil
	}
	return d.defaultName(ctx)
}

// publicationName is publication_name, else singerkit_<tap_id or dbname>.
func (d *Driver) publicationName(ctx context.Context) (string, error) {
	if d.cfg.PublicationName != "" {
		return d.cfg.PublicationName, nil
	}
	return d.defaultName(ctx)
}

func (d *Driver) defaultName(ctx context.Context) (string, error) {
	base := d.cfg.TapID
	if base == "" {
		if err := d.conn.QueryRow(ctx, `SELECT current_database()`).Scan(&base); err != nil {
			return "", err
		}
	}
	name := "singerkit_" + strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(base), "_"), "_")
	if len(name) > 63 {
		name = name[:63]
	}
	return name, nil
}

// prepareLog checks wal_level and makes sure the publication covers the
// tables; every problem is reported at once.
func (d *Driver) prepareLog(ctx context.Context, tables []*sqltap.Table) (pub string, err error) {
	var walLevel string
	if err := d.conn.QueryRow(ctx, `SHOW wal_level`).Scan(&walLevel); err != nil {
		return "", err
	}
	if walLevel != "logical" {
		return "", &config.Error{Problems: []string{fmt.Sprintf("LOG_BASED needs wal_level = logical, the server has %q: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL", walLevel)}}
	}
	if pub, err = d.publicationName(ctx); err != nil {
		return "", err
	}
	var exists, viaRoot bool
	err = d.conn.QueryRow(ctx, `SELECT pubviaroot FROM pg_publication WHERE pubname = $1`, pub).Scan(&viaRoot)
	switch {
	case err == nil:
		exists = true
	case !errors.Is(err, pgx.ErrNoRows):
		return "", err
	}
	partitioned := slices.ContainsFunc(tables, func(t *sqltap.Table) bool { return d.tables[t] != nil && d.tables[t].relkind == 'p' })
	if exists && partitioned && !viaRoot {
		// Without it, changes come under each partition's name, which is
		// no stream: they would be lost.
		if _, err := d.conn.Exec(ctx, "ALTER PUBLICATION "+quoteIdent(pub)+" SET (publish_via_partition_root = true)"); err != nil {
			return "", &config.Error{Problems: []string{fmt.Sprintf("publication %q publishes partitions under their own names and a LOG_BASED stream is a partitioned table: run ALTER PUBLICATION %s SET (publish_via_partition_root = true) as its owner (%v)", pub, quoteIdent(pub), err)}}
		}
		d.cfg.logf("publication %q now publishes partitions under their partitioned table (publish_via_partition_root)", pub)
	}
	var missing []string
	for _, t := range tables {
		info := d.tables[t]
		if info == nil {
			continue
		}
		var in bool
		if exists {
			if err := d.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)`, pub, info.ns, info.name).Scan(&in); err != nil {
				return "", err
			}
		}
		if !in {
			missing = append(missing, pgx.Identifier{info.ns, info.name}.Sanitize())
		}
	}
	if len(missing) == 0 {
		return pub, nil
	}
	// publish_via_partition_root: a partitioned table's changes come under
	// its own name (its stream), not its partitions'.
	sql := "CREATE PUBLICATION " + quoteIdent(pub) + " FOR TABLE " + strings.Join(missing, ", ") + " WITH (publish_via_partition_root = true)"
	if exists {
		sql = "ALTER PUBLICATION " + quoteIdent(pub) + " ADD TABLE " + strings.Join(missing, ", ")
	}
	if _, err := d.conn.Exec(ctx, sql); err != nil {
		return "", fmt.Errorf("adding tables to publication %q (create it as the tables' owner, or set publication_name to one that covers them): %w", pub, err)
	}
	return pub, nil
}

// slotConfirmed returns the slot's confirmed_flush_lsn; ok is false when
// the slot does not exist.
func (d *Driver) slotConfirmed(ctx context.Context, slot string) (lsn pglogrepl.LSN, ok bool, err error) {
	var s *string
	err = d.conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil || s == nil {
		return 0, err == nil, err
	}
	lsn, err = pglogrepl.ParseLSN(*s)
	return lsn, true, err
}

// LogPosition makes sure the publication and the replication slot exist and
// returns the current WAL position. The slot exists before the position is
// read, so the changes after it are kept for the run that reads them.
func (d *Driver) LogPosition(ctx context.Context, tables []*sqltap.Table) (any, error) {
	if _, err := d.prepareLog(ctx, tables); err != nil {
		return nil, err
	}
	slot, err := d.slotName(ctx)
	if err != nil {
		return nil, err
	}
	_, ok, err := d.slotConfirmed(ctx, slot)
	if err != nil {
		return nil, err
	}
	if !ok {
		if _, err := d.conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, slot); err != nil {
			if isInsufficientPrivilege(err) {
				return nil, noReplicationError(slot)
			}
			return nil, fmt.Errorf("creating replication slot %q: %w", slot, err)
		}
		d.cfg.logf("created replication slot %q (pgoutput)", slot)
	}
	return d.currentLSN(ctx)
}

// lsnValue is an LSN as a bookmark: an exact JSON integer.
func lsnValue(l pglogrepl.LSN) json.Number { return json.Number(strconv.FormatUint(uint64(l), 10)) }

// parseLSN reads a bookmark LSN: an integer, or PostgreSQL's "16/B374D848".
func parseLSN(v any) (pglogrepl.LSN, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseUint(string(x), 10, 64)
		return pglogrepl.LSN(n), err
	case string:
		if n, err := strconv.ParseUint(x, 10, 64); err == nil {
			return pglogrepl.LSN(n), nil
		}
		return pglogrepl.ParseLSN(x)
	case float64:
		return pglogrepl.LSN(x), nil
	case int64:
		return pglogrepl.LSN(x), nil
	}
	return 0, fmt.Errorf("LSN bookmark %v is not a number", v)
}

// ComparePositions orders two LSN bookmarks.
func (d *Driver) ComparePositions(a, b any) int {
	x, _ := parseLSN(a)
	y, _ := parseLSN(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// logTarget is a stream of a ReadLog, with its columns looked up in the
// latest relation message.
type logTarget struct {
	index   int
	info    *tableInfo
	table   *sqltap.Table
	columns []int
	from    pglogrepl.LSN
	// pos[i] is the relation column of columns[i], -1 when absent.
	pos      []int
	prefixes [][]byte
	isKey    []bool
}

// CheckLog reports, before anything is sent, what would stop ReadLog:
// wal_level, and for streams with a position, a missing slot, an unreadable
// position, or a slot confirmed past it.
func (d *Driver) CheckLog(ctx context.Context, req *sqltap.LogRequest) error {
	_, _, err := d.checkLog(ctx, req)
	return err
}

func (d *Driver) checkLog(ctx context.Context, req *sqltap.LogRequest) (slot string, confirmed pglogrepl.LSN, err error) {
	var walLevel string
	if err := d.conn.QueryRow(ctx, `SHOW wal_level`).Scan(&walLevel); err != nil {
		return "", 0, err
	}
	if walLevel != "logical" {
		return "", 0, &config.Error{Problems: []string{fmt.Sprintf("LOG_BASED needs wal_level = logical, the server has %q: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL", walLevel)}}
	}
	if slot, err = d.slotName(ctx); err != nil {
		return "", 0, err
	}
	var positioned []sqltap.LogStream
	for _, s := range req.Streams {
		if s.Position != nil {
			positioned = append(positioned, s)
		}
	}
	if len(positioned) == 0 {
		return slot, 0, nil
	}
	confirmed, ok, err := d.slotConfirmed(ctx, slot)
	if err != nil {
		return "", 0, err
	}
	if !ok {
		return "", 0, &cli.UsageError{Msg: fmt.Sprintf("replication slot %q does not exist: the changes since the state's lsn cannot be read; remove the LOG_BASED streams' bookmarks from the state to snapshot them again", slot)}
	}
	// A slot serves one consumer at a time: say so before writing anything.
	// The server releases it shortly after its consumer disconnects (a run
	// that just ended), so wait a little for that first.
	var pid *int32
	for wait := 0; ; wait++ {
		if err := d.conn.QueryRow(ctx, `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&pid); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", 0, err
		}
		if pid == nil || wait == slotReleaseWaits {
			break
		}
		select {
		case <-ctx.Done():
			return "", 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if pid != nil {
		return "", 0, &config.Error{Problems: []string{fmt.Sprintf("replication slot %q is in use by another process (pid %d): wait for the other run to end, or give each tap its own slot_name (or tap_id)", slot, *pid)}}
	}
	for _, s := range positioned {
		from, err := parseLSN(s.Position)
		if err != nil {
			return "", 0, &cli.UsageError{Msg: fmt.Sprintf("state of stream %q: %v", s.Table.TapStreamID, err)}
		}
		if from < confirmed {
			return "", 0, &cli.UsageError{Msg: fmt.Sprintf("stream %q: replication slot %q was confirmed up to %s, past the state's lsn %s (another consumer used the slot, or the state is old): remove the stream's bookmark to snapshot it again", s.Table.TapStreamID, slot, confirmed, from)}
		}
	}
	return slot, confirmed, nil
}

// slotReleaseWaits is how many times (100 ms apart) a check waits for a
// slot that is still active to be released.
const slotReleaseWaits = 30

// ReadLog streams inserts, updates and deletes from the slot with pgoutput
// (protocol 1: whole transactions, sent at commit).
func (d *Driver) ReadLog(ctx context.Context, req *sqltap.LogRequest, sink sqltap.LogSink) error {
	tables := make([]*sqltap.Table, len(req.Streams))
	for i, s := range req.Streams {
		tables[i] = s.Table
	}
	pub, err := d.prepareLog(ctx, tables)
	if err != nil {
		return err
	}
	slot, confirmed, err := d.checkLog(ctx, req)
	if err != nil {
		return err
	}
	targets := make(map[string]*logTarget)
	var start pglogrepl.LSN
	for i, s := range req.Streams {
		from, _ := parseLSN(s.Position) // checked by checkLog
		if i == 0 || from < start {
			start = from
		}
		info := d.tables[s.Table]
		t := &logTarget{index: i, info: info, table: s.Table, columns: s.Columns, from: from}
		for n, c := range s.Columns {
			p := []byte{','}
			if n == 0 {
				p[0] = '{'
			}
			p = singer.AppendJSONString(p, s.Table.Columns[c].Name)
			t.prefixes = append(t.prefixes, append(p, ':'))
			// A delete keeps only the key (all columns when there is none:
			// REPLICA IDENTITY FULL sends them).
			t.isKey = append(t.isKey, len(s.Table.Keys) == 0 || slices.Contains(s.Table.Keys, s.Table.Columns[c].Name))
		}
		targets[info.ns+"\x00"+info.name] = t
	}
	confirm := confirmed
	if req.Confirm != nil {
		if confirm, err = parseLSN(req.Confirm); err != nil {
			return err
		}
	}

	cc, err := d.cfg.connConfig()
	if err != nil {
		return err
	}
	statusEvery, err := d.statusInterval(ctx, req.StatusEvery)
	if err != nil {
		return err
	}
	// The end of the log now, when the run starts: every change committed
	// before the run began lies before it. The run reads at least that far
	// before it may end as idle: on a busy server the walsender can spend
	// longer than the idle time decoding other WAL before it reaches a
	// change made just before the run (which the run would otherwise leave
	// to the next one).
	logEnd, err := d.logEnd(ctx)
	if err != nil {
		return err
	}
	rcfg := cc.Config.Copy()
	rcfg.RuntimeParams["replication"] = "database"
	// The read loop's deadlines must not stop the status sender's writes
	// (pgconn's default handler sets both deadlines).
	rcfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler { return readDeadline{pc.Conn()} }
	rconn, err := pgconn.ConnectConfig(ctx, rcfg)
	if err != nil {
		return fmt.Errorf("opening a replication connection: %s", config.Redact(err.Error(), d.cfg.Password))
	}
	defer rconn.Close(context.Background())
	err = pglogrepl.StartReplication(ctx, rconn, quoteIdent(slot), start, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names " + quoteLiteral(quoteIdent(pub))},
	})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" {
			return fmt.Errorf("replication slot %q is in use by another process: %w", slot, err)
		}
		return fmt.Errorf("starting replication from slot %q: %w", slot, err)
	}
	d.cfg.logf("reading changes from slot %q at %s, confirming %s", slot, start, confirm)

	// The slot is confirmed once, at the start, up to what the target had
	// committed; then the status sender, a goroutine of its own, tells the
	// server every statusEvery (and when it asks) that the connection is
	// alive, even while the loop below waits on a slow stdout: the server
	// drops a client silent for wal_sender_timeout.
	if err := sendStatus(rconn, confirm, confirm, true); err != nil {
		return fmt.Errorf("replication slot %q: %w", slot, err)
	}
	st := newStatusSender(rconn, confirm, statusEvery)
	defer st.stop()

	began := time.Now()
	lastChange := began
	// reached: the server has sent everything up to logEnd; until then an
	// idle time does not end the run (MaxRun and the stall check still do).
	reached, waitLogged := start >= logEnd, false
	relations := make(map[uint32]*logTarget)
	var (
		inTxn      bool
		txnLSN     pglogrepl.LSN
		commitTime time.Time
	)
	tx := &changeQueue{d: d, ctx: ctx, sink: sink}
	// waiting is when the loop last began to wait for the server: the
	// status sender asks for a reply every statusEvery, so a server silent
	// for the read timeout has stalled. (The deadlines below end each read
	// sooner, so the connection's own read timeout never fires here.)
	waiting, got := time.Now(), false
	readTimeout := d.cfg.readTimeout()
	for {
		now := time.Now()
		if got {
			// Handling the message (a slow stdout) is not idle time.
			if lastChange.Before(waiting) {
				lastChange = lastChange.Add(now.Sub(waiting))
			} else {
				lastChange = now // a change came in this message
			}
			waiting, got = now, false
		}
		idle := now.Sub(lastChange) >= req.Idle
		if (idle && reached) || now.Sub(began) >= req.MaxRun {
			return st.stop()
		}
		if idle && !waitLogged {
			d.cfg.logf("no change for %s, but the server has not yet sent the log up to %s (its end when the run began): reading on", req.Idle, logEnd)
			waitLogged = true
		}
		if err := st.err(); err != nil {
			return d.streamError(slot, err)
		}
		deadline := began.Add(req.MaxRun)
		if t := lastChange.Add(req.Idle); reached && t.Before(deadline) {
			deadline = t
		}
		if t := now.Add(statusEvery); t.Before(deadline) {
			deadline = t // to notice a failed status send
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		msg, err := rconn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) && !isStall(err) && !rconn.IsClosed() {
				if readTimeout > 0 && time.Since(waiting) >= readTimeout {
					return d.streamError(slot, &liveconn.StallError{Op: "read", Limit: readTimeout})
				}
				continue
			}
			return d.streamError(slot, err)
		}
		// The wait starts again once the message is handled (the time
		// spent on a slow stdout is not the server's).
		waiting, got = time.Now(), true
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return d.streamError(slot, pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone, *pgproto3.CommandComplete, *pgproto3.ReadyForQuery:
			// The server ended the stream (it is shutting down).
			return d.streamError(slot, errStreamEnded)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return err
				}
				if !inTxn && ka.ServerWALEnd > 0 {
					// Every transaction committed before the server's
					// position has been sent: an idle run still moves on.
					if err := sink.Advance(lsnValue(ka.ServerWALEnd)); err != nil {
						return err
					}
					reached = reached || ka.ServerWALEnd >= logEnd
				}
				st.received(ka.ServerWALEnd, ka.ReplyRequested)
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return err
				}
				lm, err := pglogrepl.Parse(xld.WALData)
				if err != nil {
					return fmt.Errorf("decoding pgoutput message: %w", err)
				}
				switch lm := lm.(type) {
				case *pglogrepl.RelationMessage:
					t := targets[lm.Namespace+"\x00"+lm.RelationName]
					if t == nil {
						delete(relations, lm.RelationID)
						continue
					}
					t.pos = t.pos[:0]
					for _, c := range t.columns {
						p := -1
						for j, rc := range lm.Columns {
							if rc.Name == t.table.Columns[c].Name {
								p = j
							}
						}
						t.pos = append(t.pos, p)
					}
					relations[lm.RelationID] = t
				case *pglogrepl.BeginMessage:
					inTxn, txnLSN, commitTime = true, lm.FinalLSN, lm.CommitTime
				case *pglogrepl.CommitMessage:
					inTxn = false
					if err := tx.flush(); err != nil {
						return err
					}
					if err := sink.Advance(lsnValue(lm.TransactionEndLSN)); err != nil {
						return err
					}
					reached = reached || lm.TransactionEndLSN >= logEnd
				case *pglogrepl.InsertMessage:
					if t := relations[lm.RelationID]; t != nil && txnLSN >= t.from {
						lastChange = time.Now()
						if err := tx.add(t.change(lm.Tuple, nil, nil)); err != nil {
							return err
						}
					}
				case *pglogrepl.UpdateMessage:
					if t := relations[lm.RelationID]; t != nil && txnLSN >= t.from {
						lastChange = time.Now()
						if t.keyChanged(lm.OldTuple, lm.NewTuple) {
							// The row left its old key: a delete of that key
							// first, or the target would keep it.
							ct := commitTime
							if err := tx.add(t.change(lm.OldTuple, nil, &ct)); err != nil {
								return err
							}
						}
						var old *pglogrepl.TupleData
						if lm.OldTupleType == pglogrepl.UpdateMessageTupleTypeOld {
							// REPLICA IDENTITY FULL: the old row, TOASTed values included.
							old = lm.OldTuple
						}
						if err := tx.add(t.change(lm.NewTuple, old, nil)); err != nil {
							return err
						}
					}
				case *pglogrepl.DeleteMessage:
					if t := relations[lm.RelationID]; t != nil && txnLSN >= t.from {
						lastChange = time.Now()
						ct := commitTime
						if err := tx.add(t.change(lm.OldTuple, nil, &ct)); err != nil {
							return err
						}
					}
				}
			}
		}
	}
}

// errStreamEnded is a replication stream the server ended.
var errStreamEnded = errors.New("the server ended the replication stream")

// streamError is the one line for a replication stream that broke: the
// state written before it resumes.
func (d *Driver) streamError(slot string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"):
		err = fmt.Errorf("the server is shutting down or restarting: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	case errors.Is(err, errStreamEnded):
		err = errors.New("the server ended the replication stream (it is shutting down or restarting)")
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		err = errors.New("the server closed the connection (restarted, or the connection was cut)")
	}
	return fmt.Errorf("reading from slot %q: %s: run again to resume from the last state", slot, config.Redact(err.Error(), d.cfg.Password))
}

// statusInterval is how often the status sender writes: every want
// (default 10s), and at least three times per wal_sender_timeout.
func (d *Driver) statusInterval(ctx context.Context, want time.Duration) (time.Duration, error) {
	if want <= 0 {
		want = 10 * time.Second
	}
	var ms int64
	if err := d.conn.QueryRow(ctx, `SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout'`).Scan(&ms); err != nil {
		return 0, fmt.Errorf("reading wal_sender_timeout: %w", err)
	}
	if t := time.Duration(ms) * time.Millisecond / 3; t > 0 && t < want {
		want = t
	}
	if t := d.cfg.readTimeout() / 3; t > 0 && t < want {
		want = t
	}
	return want, nil
}

// logEnd is how far the server's log is durable now (on a standby: how
// far it has replayed): the last commit a run must read.
func (d *Driver) logEnd(ctx context.Context) (pglogrepl.LSN, error) {
	var cur string
	err := d.conn.QueryRow(ctx, `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END)::text`).Scan(&cur)
	if err != nil {
		return 0, fmt.Errorf("reading the end of the server's log: %w", err)
	}
	return pglogrepl.ParseLSN(cur)
}

// readDeadline is a pgconn context handler that cancels reads only.
type readDeadline struct{ conn net.Conn }

func (h readDeadline) HandleCancel(context.Context) { _ = h.conn.SetReadDeadline(time.Now()) }
func (h readDeadline) HandleUnwatchAfterCancel()    { _ = h.conn.SetReadDeadline(time.Time{}) }

// sendStatus writes a standby status update: write is the WAL position
// received, flush what the slot may be confirmed up to (0: no
// confirmation, the slot stays where it is).
func sendStatus(conn *pgconn.PgConn, write, flush pglogrepl.LSN, reply bool) error {
	b := make([]byte, 0, 40)
	b = append(b, 'd', 0, 0, 0, 0, pglogrepl.StandbyStatusUpdateByteID)
	b = binary.BigEndian.AppendUint64(b, uint64(write))
	b = binary.BigEndian.AppendUint64(b, uint64(flush))
	b = binary.BigEndian.AppendUint64(b, uint64(flush)) // applied
	b = binary.BigEndian.AppendUint64(b, uint64(time.Now().UnixMicro()-pgEpochMicros))
	if reply {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	binary.BigEndian.PutUint32(b[1:5], uint32(len(b)-1))
	return conn.Frontend().SendUnbufferedEncodedCopyData(b)
}

// pgEpochMicros is 2000-01-01 in Unix microseconds.
const pgEpochMicros = 946684800 * 1000000

// statusSender sends standby status updates from a goroutine of its own.
// It never confirms (flush 0): the run's one confirmation went first. Its
// write position is the server's last keepalive position, so a server
// shutting down, which waits for its client to have received everything,
// is not held up.
type statusSender struct {
	conn     *pgconn.PgConn
	pos      atomic.Uint64
	now      chan struct{}
	done     chan struct{}
	stopped  chan struct{}
	once     sync.Once
	mu       sync.Mutex
	sendErr  error
	interval time.Duration
}

func newStatusSender(conn *pgconn.PgConn, from pglogrepl.LSN, every time.Duration) *statusSender {
	s := &statusSender{conn: conn, now: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}), interval: every}
	s.pos.Store(uint64(from))
	go s.run()
	return s
}

func (s *statusSender) run() {
	defer close(s.stopped)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		case <-s.now:
		}
		// Ask for a reply: a live server then always sends something
		// within the interval, so a silent one is a stalled one.
		if err := sendStatus(s.conn, pglogrepl.LSN(s.pos.Load()), 0, true); err != nil {
			s.mu.Lock()
			s.sendErr = err
			s.mu.Unlock()
			return
		}
	}
}

// received notes the server's position from a keepalive, and sends a
// status at once when the server asked for one.
func (s *statusSender) received(pos pglogrepl.LSN, reply bool) {
	if uint64(pos) > s.pos.Load() {
		s.pos.Store(uint64(pos))
	}
	if reply {
		select {
		case s.now <- struct{}{}:
		default:
		}
	}
}

func (s *statusSender) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendErr
}

// stop ends the goroutine and waits for it. Idempotent.
func (s *statusSender) stop() error {
	s.once.Do(func() { close(s.done) })
	<-s.stopped
	return nil
}

// keyChanged reports whether an update moved the row to another primary
// key: old is the update's old key or old row (nil when the replica
// identity did not change). Columns the old tuple does not carry (null in
// a replica identity that is not the primary key) are not compared.
func (t *logTarget) keyChanged(old, tuple *pglogrepl.TupleData) bool {
	if old == nil || tuple == nil || len(t.table.Keys) == 0 {
		return false
	}
	for i, p := range t.pos {
		if !t.isKey[i] || p < 0 || p >= len(old.Columns) || p >= len(tuple.Columns) {
			continue
		}
		o, n := old.Columns[p], tuple.Columns[p]
		if o.DataType != pglogrepl.TupleDataTypeText || n.DataType != pglogrepl.TupleDataTypeText {
			continue
		}
		if !bytes.Equal(o.Data, n.Data) {
			return true
		}
	}
	return false
}

// change is one row change of t: tuple is the new row (the key of a
// delete), old the whole old row when the table has REPLICA IDENTITY FULL.
func (t *logTarget) change(tuple, old *pglogrepl.TupleData, deletedAt *time.Time) *rowChange {
	c := &rowChange{t: t, pos: slices.Clone(t.pos), tuple: tuple, old: old, deletedAt: deletedAt}
	if deletedAt != nil || tuple == nil {
		return c
	}
	for i, p := range c.pos {
		if p < 0 || p >= len(tuple.Columns) || tuple.Columns[p].DataType != pglogrepl.TupleDataTypeToast {
			continue
		}
		if old != nil && p < len(old.Columns) && old.Columns[p].DataType != pglogrepl.TupleDataTypeToast {
			continue // the old row holds the value
		}
		c.missing = append(c.missing, i)
	}
	if len(c.missing) > 0 {
		c.fetched = make([]*pglogrepl.TupleDataColumn, len(t.columns))
	}
	return c
}

// rowChange is a change waiting to be encoded: an update whose unchanged
// TOASTed values pgoutput left out waits for them to be read from the table
// (and the changes after it in the transaction wait with it, to keep the
// order).
type rowChange struct {
	t          *logTarget
	pos        []int // the relation positions of t.columns when the change came
	tuple, old *pglogrepl.TupleData
	deletedAt  *time.Time
	// missing are the indexes (into t.columns) of the unchanged TOASTed
	// values to read from the table; fetched[i] holds them once read.
	missing []int
	fetched []*pglogrepl.TupleDataColumn
}

// value is the change's value of t.columns[i], nil when it has none.
func (c *rowChange) value(i int) *pglogrepl.TupleDataColumn {
	p := c.pos[i]
	if c.tuple == nil || p < 0 || p >= len(c.tuple.Columns) {
		return nil
	}
	col := c.tuple.Columns[p]
	if col.DataType != pglogrepl.TupleDataTypeToast {
		return col
	}
	if c.old != nil && p < len(c.old.Columns) && c.old.Columns[p].DataType != pglogrepl.TupleDataTypeToast {
		return c.old.Columns[p]
	}
	if c.fetched != nil {
		return c.fetched[i]
	}
	return nil
}

// record encodes the change with the same encoders as the snapshot.
// Columns the change does not carry (a non-key column of a delete, a TOAST
// value the table no longer holds) are left out of the record.
func (c *rowChange) record(b []byte) []byte {
	t := c.t
	first := true
	for i, ci := range t.columns {
		if c.deletedAt != nil && !t.isKey[i] {
			continue
		}
		col := c.value(i)
		if col == nil {
			continue
		}
		pre := t.prefixes[i]
		if first {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		first = false
		b = append(b, pre[1:]...)
		if col.DataType == pglogrepl.TupleDataTypeNull {
			b = append(b, "null"...)
		} else {
			b = t.info.cols[ci].enc.appendJSON(b, col.Data)
		}
	}
	if first {
		b = append(b, '{')
	} else {
		b = append(b, ',')
	}
	b = append(b, `"`+sqltap.DeletedAtProperty+`":`...)
	if c.deletedAt == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = singer.AppendTimestamp(b, *c.deletedAt)
		b = append(b, '"')
	}
	return append(b, '}')
}

// maxQueued and maxQueuedBytes cap the changes held for one batch of
// TOAST look-ups.
const (
	maxQueued      = 1000
	maxQueuedBytes = 32 << 20
)

// changeQueue passes changes on to the sink, holding them (in order) from
// the first update that lacks TOASTed values until the end of the
// transaction or maxQueued changes, then reads the missing values by
// primary key, one query per table.
type changeQueue struct {
	d     *Driver
	ctx   context.Context
	sink  sqltap.LogSink
	queue []*rowChange
	bytes int
	rec   []byte
}

func (q *changeQueue) add(c *rowChange) error {
	if len(c.missing) == 0 && len(q.queue) == 0 {
		q.rec = c.record(q.rec[:0])
		return q.sink.Change(c.t.index, q.rec)
	}
	q.queue = append(q.queue, c)
	for _, t := range []*pglogrepl.TupleData{c.tuple, c.old} {
		if t != nil {
			for _, col := range t.Columns {
				q.bytes += len(col.Data)
			}
		}
	}
	if len(q.queue) >= maxQueued || q.bytes >= maxQueuedBytes {
		return q.flush()
	}
	return nil
}

func (q *changeQueue) flush() error {
	if len(q.queue) == 0 {
		return nil
	}
	var byTable []*logTarget
	for _, c := range q.queue {
		if len(c.missing) > 0 && !slices.Contains(byTable, c.t) {
			byTable = append(byTable, c.t)
		}
	}
	for _, t := range byTable {
		if err := q.d.fetchUnchanged(q.ctx, t, q.queue); err != nil {
			return err
		}
	}
	for _, c := range q.queue {
		q.rec = c.record(q.rec[:0])
		if err := q.sink.Change(c.t.index, q.rec); err != nil {
			return err
		}
	}
	clear(q.queue)
	q.queue, q.bytes = q.queue[:0], 0
	return nil
}

// fetchUnchanged reads, by primary key, the unchanged TOASTed values the
// queued updates of t lack: the row as the table holds it now (any later
// change to it follows in the log).
func (d *Driver) fetchUnchanged(ctx context.Context, t *logTarget, queue []*rowChange) error {
	keyIdx := make([]int, len(t.table.Keys)) // into t.columns
	for k, name := range t.table.Keys {
		keyIdx[k] = slices.Index(t.columns, t.table.Column(name))
	}
	var want []int // indexes into t.columns to select
	var changes []*rowChange
	for _, c := range queue {
		if c.t != t || len(c.missing) == 0 {
			continue
		}
		changes = append(changes, c)
		for _, i := range c.missing {
			if !slices.Contains(want, i) {
				want = append(want, i)
			}
		}
	}
	if len(keyIdx) == 0 || slices.Contains(keyIdx, -1) {
		d.cfg.warnf("stream %q: an update left unchanged TOASTed values out and the table has no primary key to read them by: the record lacks them (set REPLICA IDENTITY FULL on the table)", t.table.TapStreamID)
		return nil
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	names := make([]string, 0, len(keyIdx)+len(want))
	for _, i := range append(slices.Clone(keyIdx), want...) {
		names = append(names, quoteIdent(t.table.Columns[t.columns[i]].Name))
	}
	sb.WriteString(strings.Join(names, ", "))
	sb.WriteString(" FROM " + pgx.Identifier{t.info.ns, t.info.name}.Sanitize())
	sb.WriteString(" WHERE (" + strings.Join(names[:len(keyIdx)], ", ") + ") IN (")
	var params [][]byte
	keyOf := func(c *rowChange) (string, bool) {
		var k strings.Builder
		for _, i := range keyIdx {
			v := c.value(i)
			if v == nil || v.DataType != pglogrepl.TupleDataTypeText {
				return "", false
			}
			k.Write(v.Data)
			k.WriteByte(0)
		}
		return k.String(), true
	}
	seen := make(map[string]bool)
	for _, c := range changes {
		key, ok := keyOf(c)
		if !ok || seen[key] {
			continue
		}
		seen[key] = true
		if len(params) > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for n, i := range keyIdx {
			if n > 0 {
				sb.WriteString(", ")
			}
			params = append(params, c.value(i).Data)
			sb.WriteString("$" + strconv.Itoa(len(params)))
		}
		sb.WriteByte(')')
	}
	sb.WriteByte(')')
	rows := make(map[string][]*pglogrepl.TupleDataColumn, len(seen))
	if len(params) > 0 {
		rr := d.conn.PgConn().ExecParams(ctx, sb.String(), params, nil, nil, nil)
		for rr.NextRow() {
			vals := rr.Values()
			var k strings.Builder
			for n := range keyIdx {
				k.Write(vals[n])
				k.WriteByte(0)
			}
			row := make([]*pglogrepl.TupleDataColumn, len(want))
			for n := range want {
				v := vals[len(keyIdx)+n]
				if v == nil {
					row[n] = &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeNull}
				} else {
					row[n] = &pglogrepl.TupleDataColumn{DataType: pglogrepl.TupleDataTypeText, Data: slices.Clone(v)}
				}
			}
			rows[k.String()] = row
		}
		if _, err := rr.Close(); err != nil {
			return fmt.Errorf("stream %q: reading unchanged TOASTed values: %w", t.table.TapStreamID, err)
		}
	}
	lost := 0
	for _, c := range changes {
		key, _ := keyOf(c)
		row, ok := rows[key]
		if !ok {
			lost++
			continue
		}
		for _, i := range c.missing {
			c.fetched[i] = row[slices.Index(want, i)]
		}
	}
	if lost > 0 {
		d.cfg.warnf("stream %q: %d updated rows were gone (deleted or re-keyed later in the log) when their unchanged TOASTed values were read: those records lack them", t.table.TapStreamID, lost)
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
