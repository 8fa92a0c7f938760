package gen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"
	"github.com/spf13/cobra"
)

// This file is `singer gen to-csv`, hidden: it writes the records of a
// Singer stream as one CSV file per stream, the columns in the order a SQL
// target gives its table (the schema plan's), so that a bulk loader (psql
// \copy, LOAD DATA) loads exactly the rows a target loads: the baseline of
// the target benchmarks.

func newToCSVCommand(stdout, _ io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "to-csv DIR < stream.jsonl",
		Short:  "Write the records of a Singer stream on stdin as DIR/<stream>.csv (for make bench)",
		Hidden: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.Usagef("to-csv needs one DIR argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return toCSV(cmd.Context(), cmd.InOrStdin(), args[0], stdout)
		},
	}
}

type csvStream struct {
	schema *singer.Schema
	row    singer.Row
	f      *os.File
	w      *bufio.Writer
	n      int64
}

// toCSV writes each stream's records to dir/<stream>.csv: NULL as an
// empty field, every other value quoted (strings unescaped from JSON,
// numbers as sent, objects and arrays as their JSON text). It prints one
// line per stream: its name, file and record count.
func toCSV(ctx context.Context, in io.Reader, dir string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return cli.Usagef("cannot create %s: %v", dir, config.WithoutPath(err))
	}
	streams := map[string]*csvStream{}
	var order []string
	defer func() {
		for _, s := range streams {
			s.f.Close()
		}
	}()
	d := singer.NewDecoder(in)
	var buf []byte
	for d.Next() {
		m := d.Message()
		switch m.Type {
		case singer.TypeSchema:
			if streams[m.Stream] != nil {
				continue // the benchmark streams keep their schema
			}
			sch, err := singer.CompileSchema(bytes.Clone(m.Schema), singer.SchemaOptions{})
			if err != nil {
				return fmt.Errorf("line %d: stream %q: %v", m.Line, m.Stream, err)
			}
			f, err := os.Create(filepath.Join(dir, m.Stream+".csv"))
			if err != nil {
				return err
			}
			streams[m.Stream] = &csvStream{schema: sch, f: f, w: bufio.NewWriterSize(f, 1<<20)}
			order = append(order, m.Stream)
		case singer.TypeRecord:
			s := streams[m.Stream]
			if s == nil {
				return fmt.Errorf("line %d: RECORD for stream %q before its SCHEMA", m.Line, m.Stream)
			}
			if err := s.schema.Decode(m.Record, &s.row, true); err != nil {
				return fmt.Errorf("line %d: stream %q: %v", m.Line, m.Stream, err)
			}
			buf = buf[:0]
			for i := range s.row.Values {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = appendCSVField(buf, &s.row.Values[i])
			}
			buf = append(buf, '\n')
			if _, err := s.w.Write(buf); err != nil {
				return err
			}
			s.n++
			if s.n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	}
	if err := d.Err(); err != nil {
		return err
	}
	for _, name := range order {
		s := streams[name]
		if err := s.w.Flush(); err != nil {
			return err
		}
		if err := s.f.Close(); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "%s\t%s\t%d\n", name, s.f.Name(), s.n); err != nil {
			return err
		}
	}
	return nil
}

func appendCSVField(b []byte, v *singer.Value) []byte {
	var s []byte
	switch v.Kind {
	case singer.String, singer.Number, singer.Object, singer.Array:
		s = v.Bytes
	case singer.Bool:
		return strconv.AppendBool(b, v.Bool)
	default:
		return b // NULL
	}
	b = append(b, '"')
	for {
		i := bytes.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}
