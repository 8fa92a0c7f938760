package duckdb

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"
)

// BenchmarkLoadFile loads the stream in $BENCH_STREAM (a `singer gen
// --shape flat` file) into a new database, append or upsert
// ($BENCH_METHOD); for profiles of the load path.
func BenchmarkLoadFile(b *testing.B) {
	stream := os.Getenv("BENCH_STREAM")
	if stream == "" {
		b.Skip("set BENCH_STREAM to a stream file")
	}
	method := os.Getenv("BENCH_METHOD")
	if method == "" {
		method = "append"
	}
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		cfg := filepath.Join(dir, "c.json")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`{"path":%q,"load_method":%q}`, filepath.Join(dir, "b.duckdb"), method)), 0o600)
		in, err := os.Open(stream)
		if err != nil {
			b.Fatal(err)
		}
		if code := cli.RunTarget(context.Background(), Spec(), []string{"--config", cfg}, in, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
		in.Close()
	}
}
