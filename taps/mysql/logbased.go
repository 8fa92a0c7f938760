package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/internal/config"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/singerkit/singerkit/internal/liveconn"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// A binlog position is the bookmark text "file:pos" (e.g.
// "mysql-bin.000003:1547"), followed by " gtid=SET" when the server has
// GTIDs (MariaDB "0-1-1935", MySQL "3e11fa47-...:1-5"): the end of the
// last transaction whose changes were given. A position with a GTID set
// resumes from the set (file names change on failover, GTIDs do not);
// one without resumes from file:pos.
type binlogPos struct {
	file string
	pos  uint32
	gtid string
}

const gtidSep = " gtid="

func (p binlogPos) String() string {
	s := p.file + ":" + strconv.FormatUint(uint64(p.pos), 10)
	if p.gtid != "" {
		s += gtidSep + p.gtid
	}
	return s
}

func parsePos(v any) (binlogPos, error) {
	s, ok := v.(string)
	fp, gtid, _ := strings.Cut(s, gtidSep)
	i := strings.LastIndexByte(fp, ':')
	if !ok || i <= 0 {
		shown := fmt.Sprint(v)
		if ok {
			shown = strconv.Quote(s)
		}
		return binlogPos{}, fmt.Errorf("binlog position %s is not \"file:pos\" or \"file:pos gtid=SET\"", shown)
	}
	n, err := strconv.ParseUint(fp[i+1:], 10, 32)
	if err != nil {
		return binlogPos{}, fmt.Errorf("binlog position %q is not \"file:pos\" or \"file:pos gtid=SET\"", s)
	}
	p := binlogPos{file: fp[:i], pos: uint32(n), gtid: gtid}
	if gtid != "" {
		if _, err := p.gtidSet(); err != nil {
			return binlogPos{}, fmt.Errorf("binlog position %q: GTID set %q: %v", s, gtid, err)
		}
	}
	return p, nil
}

// gtidFlavor tells the two GTID syntaxes apart: MySQL's sets name a
// server UUID followed by ':', MariaDB's are domain-server-seq triples.
func gtidFlavor(set string) string {
	if strings.Contains(set, ":") {
		return gomysql.MySQLFlavor
	}
	return gomysql.MariaDBFlavor
}

// gtidSet parses the position's GTID set; nil when it has none.
func (p binlogPos) gtidSet() (gomysql.GTIDSet, error) {
	if p.gtid == "" {
		return nil, nil
	}
	return gomysql.ParseGTIDSet(gtidFlavor(p.gtid), p.gtid)
}

// fileSeq is the sequence number a binlog file name ends with.
func fileSeq(name string) uint64 {
	n, _ := strconv.ParseUint(name[strings.LastIndexByte(name, '.')+1:], 10, 64)
	return n
}

// compare orders positions by their GTID sets when both have one and one
// set holds the other (file names are not comparable across a failover,
// and a GTID can be trusted where a file:pos was edited), else by file:pos.
func (p binlogPos) compare(q binlogPos) int {
	if p.gtid != "" && q.gtid != "" && p.gtid != q.gtid && gtidFlavor(p.gtid) == gtidFlavor(q.gtid) {
		a, err1 := p.gtidSet()
		b, err2 := q.gtidSet()
		if err1 == nil && err2 == nil {
			switch {
			case a.Contain(b) && !b.Contain(a):
				return 1
			case b.Contain(a) && !a.Contain(b):
				return -1
			}
		}
	}
	a, b := fileSeq(p.file), fileSeq(q.file)
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case p.pos < q.pos:
		return -1
	case p.pos > q.pos:
		return 1
	}
	return 0
}

// ComparePositions orders two binlog positions.
func (d *Driver) ComparePositions(a, b any) int {
	p, err1 := parsePos(a)
	q, err2 := parsePos(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	}
	return p.compare(q)
}

// CheckLog reports, all at once, what keeps the server from serving
// LOG_BASED streams, and positions the server no longer has.
func (d *Driver) CheckLog(ctx context.Context, req *sqltap.LogRequest) error {
	conn, err := d.session(ctx)
	if err != nil {
		return err
	}
	var logBin, format, image string
	if err := conn.QueryRowContext(ctx, `SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image`).Scan(&logBin, &format, &image); err != nil {
		return fmt.Errorf("LOG_BASED: reading the binlog settings: %w", err)
	}
	if problems := binlogProblems(logBin, format, image); len(problems) > 0 {
		return &config.Error{Problems: problems}
	}
	files := map[string]bool{}
	rows, err := conn.QueryContext(ctx, `SHOW BINARY LOGS`)
	if err != nil {
		return fmt.Errorf("LOG_BASED: SHOW BINARY LOGS (the user needs REPLICATION CLIENT or BINLOG MONITOR): %w", err)
	}
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			rows.Close()
			return err
		}
		files[name] = true
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	for _, s := range req.Streams {
		if s.Position == nil {
			continue
		}
		p, err := d.position(s.Position)
		if err != nil {
			return &cli.UsageError{Msg: fmt.Sprintf("state of stream %q: %v", s.Table.TapStreamID, err)}
		}
		// A GTID set is checked by the server when the run starts from it
		// (a purged GTID also ends in a ResyncError).
		if p.gtid == "" && !files[p.file] {
			return &ResyncError{Stream: s.Table.TapStreamID, Position: p.String()}
		}
	}
	// MariaDB streams a GTID domain the request does not name from its
	// very beginning: a set naming only domains the server never logged
	// would resend everything.
	if flavor, err := d.flavor(ctx); err == nil && flavor == gomysql.MariaDBFlavor {
		var binlogState string
		if err := conn.QueryRowContext(ctx, `SELECT @@global.gtid_binlog_state`).Scan(&binlogState); err != nil {
			return fmt.Errorf("LOG_BASED: reading gtid_binlog_state: %w", err)
		}
		known, _ := gomysql.ParseMariadbGTIDSet(binlogState)
		for _, s := range req.Streams {
			if s.Position == nil {
				continue
			}
			p, _ := d.position(s.Position)
			set, _ := p.gtidSet()
			ms, ok := set.(*gomysql.MariadbGTIDSet)
			if !ok || known == nil {
				continue
			}
			for domain := range ms.Sets {
				if _, has := known.(*gomysql.MariadbGTIDSet).Sets[domain]; !has {
					return &ResyncError{Stream: s.Table.TapStreamID, Position: p.String()}
				}
			}
		}
	}
	// Column names in the binlog's table maps let a run follow ALTER TABLE.
	var meta string
	if conn.QueryRowContext(ctx, `SELECT @@global.binlog_row_metadata`).Scan(&meta) != nil {
		meta = "unavailable"
	}
	if !strings.EqualFold(meta, "FULL") && len(req.Streams) > 0 {
		d.cfg.logf("LOG_BASED: binlog_row_metadata is %s, so binlog rows carry no column names: a column added to or dropped from a streamed table stops the run; set binlog_row_metadata=FULL (MariaDB 10.5+, MySQL 8.0.1+) to follow such changes", meta)
	}
	return nil
}

// binlogProblems lists, all at once, what the server's binlog settings
// lack for LOG_BASED, each with what to change.
func binlogProblems(logBin, format, image string) []string {
	var problems []string
	if logBin != "1" && !strings.EqualFold(logBin, "ON") {
		problems = append(problems, "LOG_BASED needs the binary log: start the server with log_bin (e.g. log_bin=mysql-bin in my.cnf) and restart it")
	}
	if !strings.EqualFold(format, "ROW") {
		problems = append(problems, fmt.Sprintf("LOG_BASED needs binlog_format=ROW, the server has %s: set binlog_format=ROW in my.cnf (or SET GLOBAL binlog_format='ROW')", format))
	}
	if !strings.EqualFold(image, "FULL") {
		problems = append(problems, fmt.Sprintf("LOG_BASED needs binlog_row_image=FULL, the server has %s: set binlog_row_image=FULL in my.cnf (or SET GLOBAL binlog_row_image='FULL')", image))
	}
	return problems
}

// ResyncError says a stream's binlog position is gone from the server
// (purged): only a new snapshot can bring the stream up to date.
type ResyncError struct {
	Stream, Position string
}

func (e *ResyncError) Error() string {
	return fmt.Sprintf("stream %q: binlog position %s is no longer on the server (its file or GTID was purged, or it comes from another server): a full resync is needed: remove the stream's bookmark from the state to snapshot it again", e.Stream, e.Position)
}

// LogPosition returns the server's current binlog position and, when the
// server has GTIDs, the GTID set of that same position: a snapshot read
// after it, followed by the changes after it, misses nothing (the changes
// in between are sent again: at least once).
func (d *Driver) LogPosition(ctx context.Context, tables []*sqltap.Table) (any, error) {
	conn, err := d.session(ctx)
	if err != nil {
		return nil, err
	}
	flavor, err := d.flavor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, `SHOW MASTER STATUS`)
	if err != nil {
		// MySQL 8.4 renamed it.
		var err2 error
		if rows, err2 = conn.QueryContext(ctx, `SHOW BINARY LOG STATUS`); err2 != nil {
			return nil, fmt.Errorf("SHOW MASTER STATUS (the user needs REPLICATION CLIENT or BINLOG MONITOR): %w", err)
		}
	}
	cols, _ := rows.Columns()
	var p binlogPos
	var executed sql.NullString
	found := false
	for rows.Next() {
		vals := make([]any, len(cols))
		for i, c := range cols {
			switch {
			case i == 0:
				vals[i] = &p.file
			case i == 1:
				vals[i] = &p.pos
			case strings.EqualFold(c, "Executed_Gtid_Set"):
				vals[i] = &executed
			default:
				vals[i] = new(any)
			}
		}
		if err := rows.Scan(vals...); err != nil {
			rows.Close()
			return nil, err
		}
		found = true
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("SHOW MASTER STATUS is empty: the binary log is off")
	}
	switch {
	case !d.cfg.useGTID():
		// use_gtid: false: bookmarks are file:pos only.
	case flavor == gomysql.MariaDBFlavor:
		// The GTID position of exactly this file:pos.
		p.gtid, err = d.mariadbGTIDAt(ctx, p)
		if err != nil {
			return nil, err
		}
	default:
		// MySQL gives the set of the same moment in the same row; it is
		// empty unless gtid_mode=ON.
		p.gtid = strings.Join(strings.Fields(executed.String), "")
	}
	d.cfg.logf("LOG_BASED snapshot starts at binlog position %s", p)
	return p.String(), nil
}

// mariadbGTIDAt is MariaDB's GTID position at a binlog file:pos ("" when
// the server has logged no GTID yet).
func (d *Driver) mariadbGTIDAt(ctx context.Context, p binlogPos) (string, error) {
	conn, err := d.session(ctx)
	if err != nil {
		return "", err
	}
	var gtid sql.NullString
	if err := conn.QueryRowContext(ctx, `SELECT BINLOG_GTID_POS(?, ?)`, p.file, p.pos).Scan(&gtid); err != nil {
		return "", fmt.Errorf("BINLOG_GTID_POS(%s): %w", p, err)
	}
	return gtid.String, nil
}

// flavor is the server's kind, MySQL or MariaDB (GTIDs and the binlog
// protocol differ).
func (d *Driver) flavor(ctx context.Context) (string, error) {
	if d.serverFlavor != "" {
		return d.serverFlavor, nil
	}
	conn, err := d.session(ctx)
	if err != nil {
		return "", err
	}
	var version string
	if err := conn.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&version); err != nil {
		return "", err
	}
	d.serverFlavor = gomysql.MySQLFlavor
	if strings.Contains(strings.ToLower(version), "mariadb") {
		d.serverFlavor = gomysql.MariaDBFlavor
	}
	return d.serverFlavor, nil
}

// logTable is a table the binlog is read for, and the streams that read it.
type logTable struct {
	info    *tableInfo
	streams []int
	// tableMap is the last table map event seen for the table, and
	// rowIndex the row position of each discovered column under it (-1:
	// not in the binlog row).
	tableMap *replication.TableMapEvent
	rowIndex []int
	// present says, per discovered column missing from a row image,
	// whether the table has it now (the row was logged before the column
	// was added) or not (it was dropped).
	present map[string]bool
	// text and keyText are scratch space for value texts.
	text, keyText []byte
}

// mapColumns maps the discovered columns onto the rows of tm. Table maps
// with column names (binlog_row_metadata=FULL) map by name, so columns
// added or dropped since discovery are followed; without names the row
// must have exactly the discovered columns.
func (lt *logTable) mapColumns(tm *replication.TableMapEvent, stream string) error {
	if tm == lt.tableMap {
		return nil
	}
	cols := lt.info.cols
	if cap(lt.rowIndex) < len(cols) {
		lt.rowIndex = make([]int, len(cols))
	}
	lt.rowIndex = lt.rowIndex[:len(cols)]
	if names := tm.ColumnNameString(); len(names) > 0 {
		for i := range cols {
			lt.rowIndex[i] = -1
			for j, n := range names {
				if strings.EqualFold(n, cols[i].name) {
					lt.rowIndex[i] = j
					break
				}
			}
		}
	} else {
		if int(tm.ColumnCount) != len(cols) {
			return &actionError{fmt.Sprintf("stream %q: the binlog row has %d columns, discovery found %d (the table changed) and the binlog carries no column names: set binlog_row_metadata=FULL on the server (MariaDB 10.5+, MySQL 8.0.1+) to follow column changes, then remove the stream's bookmark from the state to resync it", stream, tm.ColumnCount, len(cols))}
		}
		for i := range cols {
			lt.rowIndex[i] = i
		}
	}
	lt.tableMap = tm
	return nil
}

// columnPresent says whether the table has column name now.
func (d *Driver) columnPresent(ctx context.Context, lt *logTable, name string) (bool, error) {
	if v, ok := lt.present[name]; ok {
		return v, nil
	}
	conn, err := d.session(ctx)
	if err != nil {
		return false, err
	}
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`, lt.info.db, lt.info.name, name).Scan(&n); err != nil {
		return false, fmt.Errorf("checking column %q of %s.%s: %w", name, lt.info.db, lt.info.name, err)
	}
	if lt.present == nil {
		lt.present = map[string]bool{}
	}
	lt.present[name] = n > 0
	return n > 0, nil
}

// actionError is a problem the user fixes in the catalog, the state or
// the server's settings, not on the command line: exit 2, one line
// without the usage hint.
type actionError struct{ msg string }

func (e *actionError) Error() string { return e.msg }

// ExitCode is cli.ExitUsage.
func (e *actionError) ExitCode() int { return cli.ExitUsage }

// columnDropped says a selected column left the table while its changes
// were being streamed: the catalog must change (exit 2); the state stops
// before the change, so the next run resumes there.
func columnDropped(stream, column, pos string) error {
	return &actionError{fmt.Sprintf("stream %q: selected column %q was dropped from the table (binlog after %s): run --discover, deselect the column in the catalog and run again (the state resumes at the change)", stream, column, pos)}
}

// position parses a stream's bookmark; with use_gtid false its GTID set
// is dropped (the run resumes from its file:pos).
func (d *Driver) position(v any) (binlogPos, error) {
	p, err := parsePos(v)
	if err == nil && !d.cfg.useGTID() {
		p.gtid = ""
	}
	return p, err
}

// startPosition is where a run over positions starts: the GTID set every
// other stream's set holds, when every stream has one; else the earliest
// file:pos, with MariaDB's GTID position of it when the server has one,
// so that the run's bookmarks gain GTIDs. Each stream then skips the
// transactions its own set (or file:pos) already covers.
func (d *Driver) startPosition(ctx context.Context, positions []binlogPos, flavor string) (binlogPos, gomysql.GTIDSet, error) {
	start := positions[0]
	for _, p := range positions[1:] {
		if p.compare(start) < 0 {
			start = p
		}
	}
	allGTID := true
	for _, p := range positions {
		if p.gtid == "" || gtidFlavor(p.gtid) != flavor {
			allGTID = false
		}
	}
	if allGTID {
		sets := make([]gomysql.GTIDSet, len(positions))
		for i, p := range positions {
			sets[i], _ = p.gtidSet() // parsed before
		}
		for i, s := range sets {
			lowest := true
			for _, o := range sets {
				if !o.Contain(s) {
					lowest = false
					break
				}
			}
			if lowest {
				return positions[i], s, nil
			}
		}
		// Sets that do not nest (several sources): no one set is safe to
		// start from, the earliest file:pos is.
		start.gtid = ""
	}
	if flavor == gomysql.MariaDBFlavor && start.gtid == "" && d.cfg.useGTID() {
		// An older state: the server knows the GTID position of a file:pos.
		if gtid, err := d.mariadbGTIDAt(ctx, start); err == nil && gtid != "" {
			start.gtid = gtid
			set, err := start.gtidSet()
			if err != nil {
				return start, nil, fmt.Errorf("GTID position %q of %s: %w", gtid, start.String(), err)
			}
			return start, set, nil
		}
	}
	if start.gtid != "" && gtidFlavor(start.gtid) == flavor {
		set, _ := start.gtidSet()
		return start, set, nil
	}
	return start, nil, nil
}

// ReadLog streams the row changes of req's tables from the binlog.
func (d *Driver) ReadLog(ctx context.Context, req *sqltap.LogRequest, sink sqltap.LogSink) error {
	if len(req.Streams) == 0 {
		return nil
	}
	mc, err := d.cfg.driverConfig()
	if err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(mc.Addr)
	if err != nil {
		return fmt.Errorf("binlog: address %q: %w", mc.Addr, err)
	}
	port, _ := strconv.Atoi(portText)
	flavor, err := d.flavor(ctx)
	if err != nil {
		return err
	}

	positions := make([]binlogPos, len(req.Streams))
	// gtids[i] is stream i's GTID set when it has one: its changes are
	// those of the transactions outside the set.
	gtids := make([]gomysql.GTIDSet, len(req.Streams))
	tables := map[string]*logTable{}
	for i, s := range req.Streams {
		p, err := d.position(s.Position)
		if err != nil {
			return fmt.Errorf("stream %q: %w", s.Table.TapStreamID, err)
		}
		positions[i] = p
		if p.gtid != "" && gtidFlavor(p.gtid) == flavor {
			gtids[i], _ = p.gtidSet()
		}
		info := d.tables[s.Table]
		if info == nil {
			return fmt.Errorf("table %s was not discovered by this connection", s.Table.TapStreamID)
		}
		k := info.db + "\x00" + info.name
		if tables[k] == nil {
			tables[k] = &logTable{info: info}
		}
		tables[k].streams = append(tables[k].streams, i)
	}
	start, startSet, err := d.startPosition(ctx, positions, flavor)
	if err != nil {
		return err
	}

	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                d.cfg.serverID(),
		Flavor:                  flavor,
		Host:                    host,
		Port:                    uint16(port),
		User:                    mc.User,
		Password:                mc.Passwd,
		TLSConfig:               mc.TLS,
		TimestampStringLocation: time.UTC,
		RenderJSONAsMySQLText:   true,
		HeartbeatPeriod:         time.Second,
		// The server sends a heartbeat every second: a connection silent
		// for the read timeout has stalled.
		ReadTimeout: d.cfg.readTimeout(),
		// No silent reconnection: a server that went away (a restart)
		// ends the run with its error, and the next run resumes from the
		// state (a retrying syncer outlived the idle timeout and the run
		// ended as if the log were quiet).
		DisableRetrySync: true,
		Logger:           discardLogger(),
	})
	defer syncer.Close()
	var streamer *replication.BinlogStreamer
	if startSet != nil {
		d.cfg.logf("LOG_BASED: reading the binlog from GTID set %s", startSet)
		streamer, err = syncer.StartSyncGTID(startSet)
	} else {
		d.cfg.logf("LOG_BASED: reading the binlog from %s", start)
		streamer, err = syncer.StartSync(gomysql.Position{Name: start.file, Pos: start.pos})
	}
	if err != nil {
		return fmt.Errorf("binlog: starting at %s: %w", start, err)
	}

	runCtx, cancel := context.WithTimeout(ctx, req.MaxRun)
	defer cancel()
	cur := start
	advanced := start.String() // the last position given to sink.Advance
	// skip[i]: the current transaction is in stream i's GTID set.
	skip := make([]bool, len(req.Streams))
	var rec []byte
	// Heartbeats keep the connection alive but are not activity: the run
	// ends req.Idle after the last other event.
	lastEvent := time.Now()
	for {
		ictx, icancel := context.WithDeadline(runCtx, lastEvent.Add(req.Idle))
		ev, err := streamer.GetEvent(ictx)
		icancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) && ictx.Err() != nil {
				return nil // idle, or max_run_seconds reached
			}
			var me *gomysql.MyError
			if errors.As(err, &me) && me.Code == 1236 {
				return &ResyncError{Stream: req.Streams[0].Table.TapStreamID, Position: start.String()}
			}
			return fmt.Errorf("binlog at %s: %s: run again to resume from the last state", advanced, binlogCause(err, d.cfg.readTimeout()))
		}
		if t := ev.Header.EventType; t == replication.HEARTBEAT_EVENT || t == replication.HEARTBEAT_LOG_EVENT_V2 {
			continue
		}
		lastEvent = time.Now()
		if ev.Header.LogPos > 0 {
			cur.pos = ev.Header.LogPos
		}
		switch e := ev.Event.(type) {
		case *replication.RotateEvent:
			cur.file, cur.pos = string(e.NextLogName), uint32(e.Position)
		case gomysql.BinlogGTIDEvent:
			// A transaction begins: which streams have it already? (MySQL
			// without GTIDs sends anonymous ones, which no set holds; a GTID
			// that does not parse is sent: at least once.)
			if startSet == nil && !slices.ContainsFunc(gtids, func(s gomysql.GTIDSet) bool { return s != nil }) {
				break
			}
			txn, err := e.GTIDNext()
			for i, set := range gtids {
				skip[i] = err == nil && set != nil && set.Contain(txn)
			}
		case *replication.XIDEvent:
			if e.GSet != nil && d.cfg.useGTID() {
				cur.gtid = e.GSet.String()
			}
			advanced = cur.String()
			if err := sink.Advance(advanced); err != nil {
				return err
			}
		case *replication.QueryEvent:
			if q := string(e.Query); !strings.EqualFold(q, "BEGIN") {
				if e.GSet != nil && d.cfg.useGTID() {
					cur.gtid = e.GSet.String()
				}
				advanced = cur.String()
				if err := sink.Advance(advanced); err != nil {
					return err
				}
			}
		case *replication.RowsEvent:
			lt := tables[string(e.Table.Schema)+"\x00"+string(e.Table.Table)]
			if lt == nil {
				continue
			}
			var deleted *time.Time
			step, first := 1, 0
			switch ev.Header.EventType {
			case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2:
			case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2, replication.PARTIAL_UPDATE_ROWS_EVENT:
				step, first = 2, 1 // before, after pairs: keep the after image
			case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2:
				at := time.Unix(int64(ev.Header.Timestamp), 0).UTC()
				deleted = &at
			default:
				continue
			}
			for _, si := range lt.streams {
				if gtids[si] != nil {
					if skip[si] {
						continue // a transaction in this stream's GTID set
					}
				} else if cur.compare(positions[si]) <= 0 {
					continue // before this stream's own position
				}
				ls := &req.Streams[si]
				if err := lt.mapColumns(e.Table, ls.Table.TapStreamID); err != nil {
					return err
				}
				for _, c := range ls.Columns {
					if lt.rowIndex[c] >= 0 {
						continue
					}
					name := lt.info.cols[c].name
					present, err := d.columnPresent(ctx, lt, name)
					if err != nil {
						return err
					}
					if !present {
						return columnDropped(ls.Table.TapStreamID, name, advanced)
					}
				}
				for r := first; r < len(e.Rows); r += step {
					if step == 2 && lt.keyChanged(ls, e.Rows[r-1], e.Rows[r]) {
						// The row left its old key: a delete of that key
						// first, or a target merging on keys keeps it.
						at := time.Unix(int64(ev.Header.Timestamp), 0).UTC()
						rec = lt.record(rec[:0], ls, e.Rows[r-1], &at)
						if err := sink.Change(si, rec); err != nil {
							return err
						}
					}
					rec = lt.record(rec[:0], ls, e.Rows[r], deleted)
					if err := sink.Change(si, rec); err != nil {
						return err
					}
				}
			}
		}
	}
}

// record appends the JSON record of a binlog row image of stream ls, with
// its _sdc_deleted_at.
func (lt *logTable) record(rec []byte, ls *sqltap.LogStream, row []any, deleted *time.Time) []byte {
	for n, c := range ls.Columns {
		if n == 0 {
			rec = append(rec, '{')
		} else {
			rec = append(rec, ',')
		}
		rec = singer.AppendJSONString(rec, ls.Table.Columns[c].Name)
		rec = append(rec, ':')
		col := &lt.info.cols[c]
		var v any
		if j := lt.rowIndex[c]; j >= 0 && j < len(row) {
			v = row[j] // else: logged before the column was added
		}
		if v == nil {
			rec = col.enc.appendJSON(rec, nil)
		} else {
			lt.text = binlogText(lt.text[:0], v, col)
			rec = col.enc.appendJSON(rec, lt.text)
		}
	}
	if len(ls.Columns) == 0 {
		rec = append(rec, '{')
	} else {
		rec = append(rec, ',')
	}
	rec = append(rec, `"`+sqltap.DeletedAtProperty+`":`...)
	if deleted == nil {
		rec = append(rec, "null"...)
	} else {
		rec = append(rec, '"')
		rec = singer.AppendTimestamp(rec, *deleted)
		rec = append(rec, '"')
	}
	return append(rec, '}')
}

// keyChanged reports whether an update moved a row of ls to another
// primary key: before and after are its row images.
func (lt *logTable) keyChanged(ls *sqltap.LogStream, before, after []any) bool {
	for _, k := range ls.Table.Keys {
		c := ls.Table.Column(k)
		if c < 0 {
			continue
		}
		j := lt.rowIndex[c]
		if j < 0 || j >= len(before) || j >= len(after) {
			continue
		}
		b, a := before[j], after[j]
		if (b == nil) != (a == nil) {
			return true
		}
		if b == nil {
			continue
		}
		col := &lt.info.cols[c]
		lt.text = binlogText(lt.text[:0], b, col)
		lt.keyText = binlogText(lt.keyText[:0], a, col)
		if !bytes.Equal(lt.text, lt.keyText) {
			return true
		}
	}
	return false
}

// binlogText writes a binlog row value in the text protocol's form, so
// that the column's one encoder serves both paths.
func binlogText(b []byte, v any, col *column) []byte {
	unsigned := strings.Contains(col.ct.columnType, "unsigned")
	switch x := v.(type) {
	case nil:
		return b
	case int8:
		if col.ct.dataType == "enum" || col.ct.dataType == "set" {
			return setText(b, uint64(uint8(x)), col)
		}
		if unsigned {
			return strconv.AppendUint(b, uint64(uint8(x)), 10)
		}
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		if col.ct.dataType == "enum" || col.ct.dataType == "set" {
			return setText(b, uint64(uint16(x)), col)
		}
		if unsigned {
			return strconv.AppendUint(b, uint64(uint16(x)), 10)
		}
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		if unsigned {
			if col.ct.dataType == "mediumint" {
				return strconv.AppendUint(b, uint64(uint32(x)&0xffffff), 10)
			}
			return strconv.AppendUint(b, uint64(uint32(x)), 10)
		}
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		switch col.ct.dataType {
		case "enum", "set":
			return setText(b, uint64(x), col)
		case "bit":
			return binary.BigEndian.AppendUint64(b, uint64(x))
		}
		if unsigned {
			return strconv.AppendUint(b, uint64(x), 10)
		}
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
			return append(b, "nan"...)
		}
		return strconv.AppendFloat(b, float64(x), 'g', -1, 32)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, "nan"...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return append(b, x...)
	case []byte:
		if col.spec.enc == encHex && col.ct.dataType == "binary" && col.ct.maxLength > int64(len(x)) {
			// binary(n) is padded with zero bytes, as the server returns it.
			b = append(b, x...)
			for i := int64(len(x)); i < col.ct.maxLength; i++ {
				b = append(b, 0)
			}
			return b
		}
		return append(b, x...)
	}
	return fmt.Append(b, v)
}

// setText turns an enum index or a set bitmask into the value's text.
func setText(b []byte, n uint64, col *column) []byte {
	if col.ct.dataType == "enum" {
		vals, _ := enumValues(col.ct.columnType, "enum(")
		if n >= 1 && int(n) <= len(vals) {
			return append(b, vals[n-1]...)
		}
		return b
	}
	vals, _ := enumValues(col.ct.columnType, "set(")
	first := true
	for i, v := range vals {
		if n&(1<<uint(i)) != 0 {
			if !first {
				b = append(b, ',')
			}
			b = append(b, v...)
			first = false
		}
	}
	return b
}

// binlogCause says why the binlog connection broke, in one line.
func binlogCause(err error, readTimeout time.Duration) string {
	var ne net.Error
	// (go-mysql flattens the network's errors into text.)
	text := err.Error()
	switch {
	case errors.As(err, &ne) && ne.Timeout() || strings.Contains(text, "i/o timeout"):
		return (&liveconn.StallError{Op: "read", Limit: readTimeout}).Error()
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(text, "connection was bad") && (strings.Contains(text, "EOF") || strings.Contains(text, "connection reset")):
		return "the server closed the connection (restarted, or the connection was cut)"
	}
	var me *gomysql.MyError
	if errors.As(err, &me) && (me.Code == 1053 || me.Code == 1927) {
		return "the server is shutting down or restarting: " + me.Message
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
