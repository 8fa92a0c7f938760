package mysql

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// A binlog position is the bookmark text "file:pos" (e.g.
// "mysql-bin.000003:1547"): the end of the last transaction whose changes
// were given.
type binlogPos struct {
	file string
	pos  uint32
}

func (p binlogPos) String() string { return p.file + ":" + strconv.FormatUint(uint64(p.pos), 10) }

func parsePos(v any) (binlogPos, error) {
	s, ok := v.(string)
	i := strings.LastIndexByte(s, ':')
	if !ok || i <= 0 {
		return binlogPos{}, fmt.Errorf("binlog position %v is not \"file:pos\"", v)
	}
	n, err := strconv.ParseUint(s[i+1:], 10, 32)
	if err != nil {
		return binlogPos{}, fmt.Errorf("binlog position %q is not \"file:pos\"", s)
	}
	return binlogPos{file: s[:i], pos: uint32(n)}, nil
}

// fileSeq is the sequence number a binlog file name ends with.
func fileSeq(name string) uint64 {
	n, _ := strconv.ParseUint(name[strings.LastIndexByte(name, '.')+1:], 10, 64)
	return n
}

func (p binlogPos) compare(q binlogPos) int {
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
		return &singer.ConfigError{Problems: problems}
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
		p, err := parsePos(s.Position)
		if err != nil {
			return &singer.UsageError{Msg: fmt.Sprintf("state of stream %q: %v", s.Table.TapStreamID, err)}
		}
		if !files[p.file] {
			return &ResyncError{Stream: s.Table.TapStreamID, Position: p.String()}
		}
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
	return fmt.Sprintf("stream %q: binlog position %s is no longer on the server (the file was purged): a full resync is needed: remove the stream's bookmark from the state to snapshot it again", e.Stream, e.Position)
}

// LogPosition returns the server's current binlog position: a snapshot
// read after it, followed by the changes after it, misses nothing (the
// changes in between are sent again: at least once).
func (d *Driver) LogPosition(ctx context.Context, tables []*sqltap.Table) (any, error) {
	conn, err := d.session(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, `SHOW MASTER STATUS`)
	if err != nil {
		return nil, fmt.Errorf("SHOW MASTER STATUS (the user needs REPLICATION CLIENT or BINLOG MONITOR): %w", err)
	}
	cols, _ := rows.Columns()
	var p binlogPos
	found := false
	for rows.Next() {
		vals := make([]any, len(cols))
		vals[0], vals[1] = &p.file, &p.pos
		for i := 2; i < len(vals); i++ {
			vals[i] = new(any)
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
	// The GTID set of the same moment, for the operator (MariaDB's
	// gtid_binlog_pos, MySQL's gtid_executed); the bookmark is file:pos.
	var gtid sql.NullString
	if conn.QueryRowContext(ctx, `SELECT @@global.gtid_binlog_pos`).Scan(&gtid) != nil {
		_ = conn.QueryRowContext(ctx, `SELECT @@global.gtid_executed`).Scan(&gtid)
	}
	d.cfg.logf("LOG_BASED snapshot starts at binlog position %s (GTID %q)", p, gtid.String)
	return p.String(), nil
}

// logTable is a table the binlog is read for, and the streams that read it.
type logTable struct {
	info    *tableInfo
	streams []int
}

// ReadLog streams the row changes of req's tables from the binlog.
func (d *Driver) ReadLog(ctx context.Context, req *sqltap.LogRequest, sink sqltap.LogSink) error {
	mc, err := d.cfg.driverConfig()
	if err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(mc.Addr)
	if err != nil {
		return fmt.Errorf("binlog: address %q: %w", mc.Addr, err)
	}
	port, _ := strconv.Atoi(portText)
	var version string
	conn, err := d.session(ctx)
	if err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `SELECT VERSION()`).Scan(&version); err != nil {
		return err
	}
	flavor := gomysql.MySQLFlavor
	if strings.Contains(strings.ToLower(version), "mariadb") {
		flavor = gomysql.MariaDBFlavor
	}

	positions := make([]binlogPos, len(req.Streams))
	tables := map[string]*logTable{}
	var start binlogPos
	for i, s := range req.Streams {
		p, err := parsePos(s.Position)
		if err != nil {
			return fmt.Errorf("stream %q: %w", s.Table.TapStreamID, err)
		}
		positions[i] = p
		if i == 0 || p.compare(start) < 0 {
			start = p
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
	if len(req.Streams) == 0 {
		return nil
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
		MaxReconnectAttempts:    3,
		Logger:                  discardLogger(),
	})
	defer syncer.Close()
	streamer, err := syncer.StartSync(gomysql.Position{Name: start.file, Pos: start.pos})
	if err != nil {
		return fmt.Errorf("binlog: starting at %s: %w", start, err)
	}

	runCtx, cancel := context.WithTimeout(ctx, req.MaxRun)
	defer cancel()
	cur := start
	var rec []byte
	var text []byte
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
			if runCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return nil // idle, or max_run_seconds reached
			}
			var me *gomysql.MyError
			if errors.As(err, &me) && me.Code == 1236 {
				return &ResyncError{Stream: req.Streams[0].Table.TapStreamID, Position: start.String()}
			}
			return fmt.Errorf("binlog at %s: %w", cur, err)
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
			cur = binlogPos{file: string(e.NextLogName), pos: uint32(e.Position)}
		case *replication.XIDEvent:
			if err := sink.Advance(cur.String()); err != nil {
				return err
			}
		case *replication.QueryEvent:
			if q := string(e.Query); !strings.EqualFold(q, "BEGIN") {
				if err := sink.Advance(cur.String()); err != nil {
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
				if cur.compare(positions[si]) <= 0 {
					continue // before this stream's own position
				}
				ls := &req.Streams[si]
				for r := first; r < len(e.Rows); r += step {
					row := e.Rows[r]
					if len(row) != len(lt.info.cols) {
						return fmt.Errorf("stream %q: the binlog row has %d columns, discovery found %d (the table changed): run --discover and resync the stream", ls.Table.TapStreamID, len(row), len(lt.info.cols))
					}
					rec = rec[:0]
					for n, c := range ls.Columns {
						if n == 0 {
							rec = append(rec, '{')
						} else {
							rec = append(rec, ',')
						}
						rec = singer.AppendJSONString(rec, ls.Table.Columns[c].Name)
						rec = append(rec, ':')
						col := &lt.info.cols[c]
						text = binlogText(text[:0], row[c], col)
						if row[c] == nil {
							rec = col.enc.appendJSON(rec, nil)
						} else {
							rec = col.enc.appendJSON(rec, text)
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
					rec = append(rec, '}')
					if err := sink.Change(si, rec); err != nil {
						return err
					}
				}
			}
		}
	}
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
