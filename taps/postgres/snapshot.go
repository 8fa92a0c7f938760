package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/singerkit/singerkit/internal/config"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/singerkit/singerkit/taps/sqltap"
)

// exportedSnapshot is the snapshot a new replication slot exported, open
// for the initial reads of the first LOG_BASED run.
type exportedSnapshot struct {
	// rconn created the slot. The exported snapshot lives only as long as
	// this connection runs no other command, so it stays open, untouched,
	// until the reads are done.
	rconn *pgconn.PgConn
	// conn holds a REPEATABLE READ transaction that imported the snapshot:
	// the scans of the initial reads run on it.
	conn *pgx.Conn
	name string
}

// LogSnapshot starts the change log of a first LOG_BASED run exactly. When
// the slot does not exist yet, it creates it on a replication connection
// with EXPORT_SNAPSHOT, imports the snapshot the server exports into a
// REPEATABLE READ transaction on a connection of its own (SET TRANSACTION
// SNAPSHOT), and returns the slot's consistent point: the snapshot holds
// every transaction committed before it, the slot every one committed from
// it on. Scans with Snapshot set read that transaction until end. When the
// slot exists already (a stream added to a running setup), it does what
// LogPosition does and end is nil: those streams are read at least once.
func (d *Driver) LogSnapshot(ctx context.Context, tables []*sqltap.Table) (any, func() error, error) {
	if _, err := d.prepareLog(ctx, tables); err != nil {
		return nil, nil, err
	}
	slot, err := d.slotName(ctx)
	if err != nil {
		return nil, nil, err
	}
	_, exists, err := d.slotConfirmed(ctx, slot)
	if err != nil {
		return nil, nil, err
	}
	if exists {
		d.cfg.logf("replication slot %q exists: the LOG_BASED streams without an lsn are read from the current WAL position, at least once", slot)
		pos, err := d.currentLSN(ctx)
		return pos, nil, err
	}
	if d.snap != nil {
		return nil, nil, errors.New("a LOG_BASED snapshot is already open")
	}
	cc, err := d.cfg.connConfig()
	if err != nil {
		return nil, nil, err
	}
	rcfg := cc.Config.Copy()
	rcfg.RuntimeParams["replication"] = "database"
	rconn, err := pgconn.ConnectConfig(ctx, rcfg)
	if err != nil {
		if isInsufficientPrivilege(err) {
			return nil, nil, noReplicationError(slot)
		}
		return nil, nil, fmt.Errorf("opening a replication connection: %s", config.Redact(err.Error(), d.cfg.Password))
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, rconn, quoteIdent(slot), "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Mode:           pglogrepl.LogicalReplication,
		SnapshotAction: "EXPORT_SNAPSHOT",
	})
	if err != nil {
		rconn.Close(context.Background())
		if isInsufficientPrivilege(err) {
			return nil, nil, noReplicationError(slot)
		}
		return nil, nil, fmt.Errorf("creating replication slot %q: %w", slot, err)
	}
	d.cfg.logf("created replication slot %q (pgoutput) at %s", slot, res.ConsistentPoint)
	point, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		rconn.Close(context.Background())
		return nil, nil, fmt.Errorf("replication slot %q: consistent point %q: %w", slot, res.ConsistentPoint, err)
	}
	conn, err := d.cfg.Connect(ctx)
	if err == nil {
		_, err = conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		if err == nil {
			_, err = conn.Exec(ctx, "SET TRANSACTION SNAPSHOT "+quoteLiteral(res.SnapshotName))
		}
		if err != nil {
			conn.Close(context.Background())
		}
	}
	if err != nil {
		// The slot stays: the next run finds it and reads the tables at
		// least once from its current position.
		rconn.Close(context.Background())
		return nil, nil, fmt.Errorf("importing the snapshot %s of replication slot %q: %w", res.SnapshotName, slot, err)
	}
	d.snap = &exportedSnapshot{rconn: rconn, conn: conn, name: res.SnapshotName}
	d.cfg.logf("reading the LOG_BASED streams in snapshot %s, consistent with %s", res.SnapshotName, res.ConsistentPoint)
	if d.snapshotHook != nil {
		d.snapshotHook()
	}
	return lsnValue(point), d.endSnapshot, nil
}

// endSnapshot ends the snapshot's transaction and closes its connections.
// Idempotent.
func (d *Driver) endSnapshot() error {
	s := d.snap
	if s == nil {
		return nil
	}
	d.snap = nil
	ctx := context.Background()
	_, err := s.conn.Exec(ctx, "ROLLBACK")
	if cerr := s.conn.Close(ctx); err == nil {
		err = cerr
	}
	if cerr := s.rconn.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// scanConn is the connection a scan runs on: the snapshot's when req asks
// for it.
func (d *Driver) scanConn(req *sqltap.ScanRequest) (*pgx.Conn, error) {
	if !req.Snapshot {
		return d.conn, nil
	}
	if d.snap == nil {
		return nil, fmt.Errorf("reading %s: no LOG_BASED snapshot is open", req.Table.TapStreamID)
	}
	return d.snap.conn, nil
}

// currentLSN is the server's current WAL position as a bookmark.
func (d *Driver) currentLSN(ctx context.Context) (any, error) {
	var cur string
	if err := d.conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&cur); err != nil {
		return nil, err
	}
	lsn, err := pglogrepl.ParseLSN(cur)
	if err != nil {
		return nil, err
	}
	return lsnValue(lsn), nil
}

func isInsufficientPrivilege(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

func noReplicationError(slot string) error {
	return &config.Error{Problems: []string{fmt.Sprintf("creating replication slot %q: the user needs the REPLICATION attribute (ALTER ROLE ... REPLICATION)", slot)}}
}
