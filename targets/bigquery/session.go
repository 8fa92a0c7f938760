package bigquery

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/singerkit/singerkit/internal/config"

	"cloud.google.com/go/bigquery"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/descriptorpb"
)

// stageLifetime bounds how long a staging table left behind by a crash
// lives (a finished load drops its stage at once).
const stageLifetime = 24 * time.Hour

var stageSeq atomic.Int64

// session prepares tables and loads batches through the shared client.
type session struct {
	d        *Dialect
	datasets map[string]bool
}

func (s *session) Close() error { return nil }

// loadPlan is what a table's loads need, made once per column set.
type loadPlan struct {
	dataset, table string
	path           string          // quoted project.dataset.table
	schema         bigquery.Schema // the table's columns as loaded, in batch order
	cols, keys     []string
	deletedAt      string

	// storage_write: the rows' message type and how each column is written.
	desc  *descriptorpb.DescriptorProto
	proto []protoField
}

func (s *session) retry(ctx context.Context, op func() error) error {
	return withRetry(ctx, sleepCtx, op)
}

// exec runs one SQL statement as a query job under a job ID of its own
// (see runJob) and waits for it.
func (s *session) exec(ctx context.Context, sql string) error {
	_, err := runJob(ctx, s.retry, s.d.jobBase("", "query"), func(ctx context.Context, id string) (job, error) {
		q := s.d.client.Query(sql)
		q.JobID = id
		return q.Run(ctx)
	}, s.lookupJob)
	return err
}

// count runs a COUNT(*) query.
func (s *session) count(ctx context.Context, path string) (int64, error) {
	var n int64
	err := s.retry(ctx, func() error {
		it, err := s.d.client.Query("SELECT COUNT(*) FROM " + path).Read(ctx)
		if err != nil {
			return err
		}
		var row []bigquery.Value
		if err := it.Next(&row); err != nil {
			if err == iterator.Done {
				return fmt.Errorf("COUNT(*) returned no row")
			}
			return err
		}
		n, _ = row[0].(int64)
		return nil
	})
	return n, err
}

// ensureDataset creates the dataset when it is missing, in the configured
// location, and refuses a dataset in another location.
func (s *session) ensureDataset(ctx context.Context, name string) error {
	if s.datasets[name] {
		return nil
	}
	s.d.datasetMu.Lock()
	defer s.d.datasetMu.Unlock()
	ds := s.d.client.Dataset(name)
	var md *bigquery.DatasetMetadata
	err := s.retry(ctx, func() (err error) { md, err = ds.Metadata(ctx); return err })
	switch {
	case notFound(err):
		err = s.retry(ctx, func() error { return ds.Create(ctx, &bigquery.DatasetMetadata{Location: s.d.location}) })
		if err != nil && !conflict(err) {
			return fmt.Errorf("creating dataset %s: %w", name, err)
		}
		if err == nil {
			s.d.log.Infof("created dataset %s.%s", s.d.project, name)
		}
	case err != nil:
		return fmt.Errorf("reading dataset %s: %w", name, err)
	case s.d.location != "" && md.Location != "" && !strings.EqualFold(md.Location, s.d.location):
		// The config disagrees with the dataset: a config error (exit 2).
		return &config.Error{Problems: []string{fmt.Sprintf("dataset %s is in location %s, not %s (the location in the config): set location to %s or use another dataset", name, md.Location, s.d.location, md.Location)}}
	}
	s.datasets[name] = true
	return nil
}

func (s *session) metadata(ctx context.Context, tbl *bigquery.Table) (*bigquery.TableMetadata, error) {
	var md *bigquery.TableMetadata
	err := s.retry(ctx, func() (err error) { md, err = tbl.Metadata(ctx); return err })
	return md, err
}

func fieldByName(schema bigquery.Schema) map[string]*bigquery.FieldSchema {
	m := make(map[string]*bigquery.FieldSchema, len(schema))
	for _, f := range schema {
		m[strings.ToLower(f.Name)] = f
	}
	return m
}

// PrepareTable creates the dataset and table, or evolves the table: new
// columns are added NULLABLE, REQUIRED columns are relaxed, and a column
// whose type cannot take the new values changes type by the rule of
// evolution, keeping every old value.
func (s *session) PrepareTable(ctx context.Context, t *sqltarget.Table) (batch, error) {
	lay, err := s.d.opts.layoutFor(t)
	if err != nil {
		return nil, err
	}
	if err := s.ensureDataset(ctx, t.Schema); err != nil {
		return nil, err
	}
	tbl := s.d.client.Dataset(t.Schema).Table(t.Name)
	path := tablePath(s.d.project, t.Schema, t.Name)
	md, err := s.metadata(ctx, tbl)
	if notFound(err) {
		var schema bigquery.Schema
		for _, c := range t.Columns {
			schema = append(schema, columnField(c, s.d.opts.record))
		}
		tmd := &bigquery.TableMetadata{Schema: schema}
		lay.apply(tmd)
		lay = nil // created as asked
		err = s.retry(ctx, func() error { return tbl.Create(ctx, tmd) })
		switch {
		case err == nil:
			s.d.log.Infof("created table %s (%d columns) for stream %q", path, len(t.Columns), t.Stream)
		case !conflict(err):
			return nil, fmt.Errorf("creating table %s: %w", path, err)
		}
		md, err = s.metadata(ctx, tbl)
	}
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %w", path, err)
	}
	for _, w := range layoutDiffers(path, t.Stream, lay, md) {
		s.d.log.Warnf("%s", w)
	}
	added, err := s.evolve(ctx, t, path, md.Schema)
	if err != nil {
		return nil, err
	}
	if md, err = s.metadata(ctx, tbl); err != nil {
		return nil, fmt.Errorf("reading table %s: %w", path, err)
	}
	if missing := missingFields(md.Schema, added); len(missing) > 0 {
		// ALTER TABLE ADD COLUMN has not reached the table's metadata
		// (the emulator keeps them apart): add the columns there too.
		schema := append(md.Schema, missing...)
		err := s.retry(ctx, func() error {
			_, err := tbl.Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema}, md.ETag)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("adding columns to %s: %w", path, err)
		}
		if md, err = s.metadata(ctx, tbl); err != nil {
			return nil, fmt.Errorf("reading table %s: %w", path, err)
		}
	}
	have := fieldByName(md.Schema)
	plan := &loadPlan{dataset: t.Schema, table: t.Name, path: path}
	fields := make([]fieldEnc, len(t.Columns))
	for i, c := range t.Columns {
		f := have[strings.ToLower(c.Name)]
		if f == nil {
			return nil, fmt.Errorf("table %s has no column %s after it was prepared", path, c.Name)
		}
		fields[i] = newFieldEnc(f)
		newNestedEnc(&fields[i], f, namesOf(c.Schema))
		switch f.Type {
		case bigquery.RecordFieldType, bigquery.StringFieldType, bigquery.JSONFieldType, bigquery.IntegerFieldType, bigquery.NumericFieldType, bigquery.BigNumericFieldType,
			bigquery.FloatFieldType, bigquery.BooleanFieldType, bigquery.TimestampFieldType, bigquery.DateFieldType, bigquery.TimeFieldType:
		default:
			return nil, fmt.Errorf("column %s of %s has type %s, which target-bigquery cannot load; change it to STRING or JSON", quote(f.Name), path, f.Type)
		}
		stageField := &bigquery.FieldSchema{Name: f.Name, Type: f.Type, Precision: f.Precision, Scale: f.Scale, Repeated: f.Repeated, Schema: f.Schema}
		plan.schema = append(plan.schema, stageField)
		plan.cols = append(plan.cols, f.Name)
		if c.Key {
			plan.keys = append(plan.keys, f.Name)
		}
		if c.Meta == sqltarget.MetaDeletedAt {
			plan.deletedAt = f.Name
		}
	}
	if s.d.writer != nil && hasNested(plan.schema) {
		// Nested protobuf messages are not built in this version.
		s.d.log.Infof("table %s has RECORD or REPEATED columns: its batches go by load jobs (method batch_job)", path)
	}
	if s.d.writer != nil && !hasNested(plan.schema) {
		if plan.desc, plan.proto, err = protoDescriptor(plan.schema); err != nil {
			return nil, fmt.Errorf("table %s: %w", path, err)
		}
		return newProtoBatch(t, plan), nil
	}
	return newBatch(t, fields, plan), nil
}

// missingFields returns the fields of added that schema lacks.
func missingFields(schema bigquery.Schema, added []*bigquery.FieldSchema) []*bigquery.FieldSchema {
	have := fieldByName(schema)
	var out []*bigquery.FieldSchema
	for _, f := range added {
		if have[strings.ToLower(f.Name)] == nil {
			out = append(out, f)
		}
	}
	return out
}

// evolve adds, relaxes and changes columns; it returns the columns added.
func (s *session) evolve(ctx context.Context, t *sqltarget.Table, path string, existing bigquery.Schema) ([]*bigquery.FieldSchema, error) {
	var added []*bigquery.FieldSchema
	have := fieldByName(existing)
	want := map[string]bool{}
	rewrite := map[string]*bigquery.FieldSchema{}
	var nested []*bigquery.FieldSchema
	for _, c := range t.Columns {
		want[strings.ToLower(c.Name)] = true
		f := have[strings.ToLower(c.Name)]
		if f == nil {
			nf := columnField(c, s.d.opts.record)
			if err := s.exec(ctx, addColumnSQL(path, nf)); err != nil {
				return nil, fmt.Errorf("adding column %s to %s: %w", quote(c.Name), path, err)
			}
			s.d.log.Infof("added column %s %s to %s", quote(c.Name), typeName(nf), path)
			added = append(added, nf)
			continue
		}
		if f.Required && !c.Key {
			if err := s.exec(ctx, dropNotNullSQL(path, f.Name)); err != nil {
				return nil, fmt.Errorf("making column %s of %s NULLABLE: %w", quote(f.Name), path, err)
			}
		}
		if f.Repeated || f.Type == bigquery.RecordFieldType {
			nf, err := nestedEvolution(f, c, s.d.opts.record, path)
			if err != nil {
				return nil, err
			}
			if nf != nil {
				nested = append(nested, nf)
			}
			continue
		}
		nf := evolution(f, c.Type)
		if nf == nil {
			continue
		}
		if keep, err := guardForeign(path, f, nf, c.Type); err != nil {
			return nil, err
		} else if keep {
			continue
		}
		if nf.Type == bigquery.BigNumericFieldType {
			if err := s.exec(ctx, widenSQL(path, f.Name, nf)); err != nil {
				return nil, fmt.Errorf("changing column %s of %s from %s to %s: %w", quote(f.Name), path, typeName(f), typeName(nf), err)
			}
		} else {
			rewrite[strings.ToLower(f.Name)] = nf
		}
		s.d.log.Warnf("column %s of %s changed from %s to %s to take %s values (old values kept)", quote(f.Name), path, typeName(f), typeName(nf), c.Type)
	}
	for _, f := range existing {
		if f.Required && !want[strings.ToLower(f.Name)] {
			if err := s.exec(ctx, dropNotNullSQL(path, f.Name)); err != nil {
				return nil, fmt.Errorf("making column %s of %s NULLABLE: %w", quote(f.Name), path, err)
			}
		}
	}
	if err := s.updateNested(ctx, t, path, nested); err != nil {
		return nil, err
	}
	if len(rewrite) > 0 {
		if err := s.exec(ctx, rewriteSQL(path, existing, rewrite)); err != nil {
			return nil, fmt.Errorf("rewriting %s with changed column types: %w", path, err)
		}
	}
	return added, nil
}

// loadJob sends data to a table with a load job under a job ID of its own
// (see runJob) and returns the rows the job reports loaded (-1 when it
// reports none).
func (s *session) loadJob(ctx context.Context, dataset, table string, data []byte, disp bigquery.TableWriteDisposition) (int64, error) {
	st, err := runJob(ctx, s.retry, s.d.jobBase(table, "load"), func(ctx context.Context, id string) (job, error) {
		src := bigquery.NewReaderSource(bytes.NewReader(data))
		src.SourceFormat = bigquery.JSON
		l := s.d.client.Dataset(dataset).Table(table).LoaderFrom(src)
		l.WriteDisposition = disp
		l.CreateDisposition = bigquery.CreateNever
		l.JobID = id
		// One request per load (multipart, not resumable): the job ID is the
		// unit of retry. (The emulator also mishandles resumable uploads.)
		l.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(0)}
		return l.Run(ctx)
	}, s.lookupJob)
	if err != nil {
		return -1, err
	}
	if st.Statistics != nil {
		if ls, ok := st.Statistics.Details.(*bigquery.LoadStatistics); ok {
			return ls.OutputRows, nil
		}
	}
	return -1, nil
}

// batch is a batch of either method: rows for the Storage Write API
// (*protoBatch) or NDJSON for load jobs (*ndjsonBatch). PrepareTable picks
// the method per table; each batch loads by its own.
type batch interface {
	sqltarget.Batch[batch]
	load(ctx context.Context, s *session, mode sqltarget.LoadMode) error
}

// Load loads one batch by its method.
func (s *session) Load(ctx context.Context, b batch, mode sqltarget.LoadMode) error {
	return b.load(ctx, s, mode)
}

func (b *protoBatch) load(ctx context.Context, s *session, mode sqltarget.LoadMode) error {
	return s.loadStorage(ctx, b, mode)
}

// load loads the batch by load jobs. Append: one load job into the table
// (WRITE_APPEND), atomic.
// Upsert: the batch, one row per key, goes to a new staging table by a
// load job; the staged count is checked; one MERGE by key updates,
// inserts (and with hard_delete deletes) rows; the stage is dropped.
func (nb *ndjsonBatch) load(ctx context.Context, s *session, mode sqltarget.LoadMode) error {
	p := nb.plan
	data, rows := nb.data(mode.Upsert)
	sentRows.Add(int64(rows))
	sentBytes.Add(int64(len(data)))
	if !mode.Upsert || len(p.keys) == 0 {
		n, err := s.loadJob(ctx, p.dataset, p.table, data, bigquery.WriteAppend)
		if err != nil {
			return fmt.Errorf("load job: %w", err)
		}
		if n >= 0 && n != int64(rows) {
			return fmt.Errorf("the load job reports %d rows loaded, the batch has %d", n, rows)
		}
		return nil
	}
	stage, stagePath, drop, err := s.createStage(ctx, p)
	if err != nil {
		return err
	}
	defer drop()
	n, err := s.loadJob(ctx, p.dataset, stage, data, bigquery.WriteTruncate)
	if err != nil {
		return fmt.Errorf("load job into %s: %w", stagePath, err)
	}
	if n < 0 {
		// No load statistics (an emulator): count the stage.
		if n, err = s.count(ctx, stagePath); err != nil {
			return fmt.Errorf("counting staged rows: %w", err)
		}
	}
	if n != int64(rows) {
		return fmt.Errorf("staged %d rows, the batch has %d", n, rows)
	}
	deletedAt := ""
	if mode.HardDelete {
		deletedAt = p.deletedAt
	}
	if err := s.exec(ctx, mergeSQL(p.path, stagePath, p.cols, p.keys, deletedAt)); err != nil {
		return fmt.Errorf("merging by key: %w", err)
	}
	return nil
}

// replacementLifetime bounds how long a replacement table left by a killed
// overwrite run lives (the next run replaces it; a finished run drops it).
const replacementLifetime = 7 * 24 * time.Hour

// BeginReplace creates repl with t's columns, partitioning and clustering,
// empty, deleting one left by a killed run.
func (s *session) BeginReplace(ctx context.Context, t, repl *sqltarget.Table) error {
	path, rpath := tablePath(s.d.project, t.Schema, t.Name), tablePath(s.d.project, repl.Schema, repl.Name)
	md, err := s.metadata(ctx, s.d.client.Dataset(t.Schema).Table(t.Name))
	if err != nil {
		return fmt.Errorf("reading table %s: %w", path, err)
	}
	rt := s.d.client.Dataset(repl.Schema).Table(repl.Name)
	if err := s.retry(ctx, func() error { return rt.Delete(ctx) }); err != nil && !notFound(err) {
		return fmt.Errorf("deleting %s, left by an earlier run: %w", rpath, err)
	}
	rmd := &bigquery.TableMetadata{Schema: md.Schema, TimePartitioning: md.TimePartitioning, RangePartitioning: md.RangePartitioning,
		Clustering: md.Clustering, ExpirationTime: time.Now().Add(replacementLifetime)}
	if err := s.retry(ctx, func() error { return rt.Create(ctx, rmd) }); err != nil {
		return fmt.Errorf("creating %s to build the replacement of %s in: %w", rpath, path, err)
	}
	return nil
}

// EndReplace swaps the replacement's rows into the table with one MERGE
// (ON FALSE: every old row is deleted, every new row inserted, atomically;
// the table keeps its definition), and deletes the replacement.
func (s *session) EndReplace(ctx context.Context, t, repl *sqltarget.Table, swap bool) error {
	path, rpath := tablePath(s.d.project, t.Schema, t.Name), tablePath(s.d.project, repl.Schema, repl.Name)
	if swap {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		if err := s.exec(ctx, replaceSQL(path, rpath, cols)); err != nil {
			return fmt.Errorf("replacing the rows of %s: %w", path, err)
		}
	}
	rt := s.d.client.Dataset(repl.Schema).Table(repl.Name)
	if err := s.retry(ctx, func() error { return rt.Delete(ctx) }); err != nil && !notFound(err) {
		return fmt.Errorf("deleting %s: %w", rpath, err)
	}
	return nil
}

// createStage creates a new staging table with the plan's columns, which
// expires by itself; drop drops it at once.
func (s *session) createStage(ctx context.Context, p *loadPlan) (stage, stagePath string, drop func(), err error) {
	stage = stageName(p.table)
	stageTbl := s.d.client.Dataset(p.dataset).Table(stage)
	stagePath = tablePath(s.d.project, p.dataset, stage)
	err = s.retry(ctx, func() error {
		return stageTbl.Create(ctx, &bigquery.TableMetadata{Schema: p.schema, ExpirationTime: time.Now().Add(stageLifetime)})
	})
	if err != nil {
		return "", "", nil, fmt.Errorf("creating staging table %s: %w", stagePath, err)
	}
	drop = func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := stageTbl.Delete(dctx); err != nil && !notFound(err) {
			s.d.log.Warnf("dropping staging table %s: %v (it expires in %s)", stagePath, err, stageLifetime)
		}
	}
	return stage, stagePath, drop, nil
}

// stageName is a new staging table name for a table.
func stageName(table string) string {
	return fmt.Sprintf("_sk_stage_%s_%x_%d", sqltarget.TruncateWithHash(table, 200), time.Now().UnixNano(), stageSeq.Add(1))
}

// ActivateVersion removes (hard_delete) or marks deleted the rows of older
// versions.
func (s *session) ActivateVersion(ctx context.Context, t *sqltarget.Table, version int64, hardDelete bool) error {
	vc, dc := t.ColumnOf(sqltarget.MetaTableVersion), t.ColumnOf(sqltarget.MetaDeletedAt)
	if vc == nil {
		return nil
	}
	ver, del := vc.Name, ""
	if dc != nil {
		del = dc.Name
	}
	return s.exec(ctx, activateSQL(tablePath(s.d.project, t.Schema, t.Name), ver, del, version, hardDelete))
}
