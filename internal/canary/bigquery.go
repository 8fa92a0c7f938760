package canary

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	targetbigquery "github.com/singerkit/singerkit/targets/bigquery"
)

// bqDest queries the destination table with target-bigquery's connection
// settings (project, endpoint, credentials or emulator, location).
type bqDest struct {
	conn           string
	cfg            *targetbigquery.Config
	dataset, table string
	meta           bool // the target writes _sdc_batched_at
	client         *bigquery.Client
}

func (d *bqDest) name() string { return d.conn + ":" + d.dataset + "." + d.table }

func (d *bqDest) latest(ctx context.Context, pipeline string) (row, error) {
	if d.client == nil {
		c, err := d.cfg.NewClient(ctx)
		if err != nil {
			return row{}, fmt.Errorf("connecting with %s's settings: %w", d.conn, err)
		}
		d.client = c
	}
	// A missing dataset or table is a finding (the canary stream never
	// got there), not a failure to query.
	if _, err := d.client.Dataset(d.dataset).Table(d.table).Metadata(ctx); err != nil {
		var ge *googleapi.Error
		if errors.As(err, &ge) && ge.Code == http.StatusNotFound {
			return row{missing: "table " + d.dataset + "." + d.table + " does not exist"}, nil
		}
		return row{}, err
	}
	loaded := "CAST(NULL AS TIMESTAMP)"
	if d.meta {
		loaded = "_sdc_batched_at"
	}
	q := d.client.Query("SELECT sent_at, " + loaded + " AS loaded_at FROM `" + d.cfg.Project + "." + d.dataset + "." + d.table +
		"` WHERE pipeline = @pipeline ORDER BY sent_at DESC LIMIT 1")
	q.Parameters = []bigquery.QueryParameter{{Name: "pipeline", Value: pipeline}}
	it, err := q.Read(ctx)
	if err != nil {
		return row{}, err
	}
	var vals []bigquery.Value
	switch err := it.Next(&vals); {
	case errors.Is(err, iterator.Done):
		return row{}, nil
	case err != nil:
		return row{}, err
	}
	var r row
	var perr error
	if r.sentAt, perr = bqTime(vals[0]); perr != nil {
		return row{}, fmt.Errorf("sent_at in %s: %v", d.name(), perr)
	}
	r.found = true
	if vals[1] != nil {
		r.loadedAt, _ = bqTime(vals[1])
	}
	return r, nil
}

// bqTime reads a TIMESTAMP (or a STRING holding one) as the client gives it.
func bqTime(v bigquery.Value) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		return parseTime(v)
	}
	return time.Time{}, fmt.Errorf("%v (%T) is not a timestamp", v, v)
}

func (d *bqDest) close() {
	if d.client != nil {
		d.client.Close()
	}
}
