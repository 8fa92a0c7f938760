package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// TestLogBasedPartitioned streams inserts, updates and deletes of a
// partitioned table's partitions under the partitioned table's stream,
// with a publication the tap creates and with an existing one made without
// publish_via_partition_root (which the tap sets).
func TestLogBasedPartitioned(t *testing.T) {
	for _, existing := range []bool{false, true} {
		name := "new"
		if existing {
			name = "existing"
		}
		t.Run(name, func(t *testing.T) {
			e := newLogEnv(t, "part_"+name)
			root := e.table("events")
			e.exec("CREATE TABLE " + root + " (id integer PRIMARY KEY, v text) PARTITION BY RANGE (id)")
			e.exec("CREATE TABLE " + e.table("events_low") + " PARTITION OF " + root + " FOR VALUES FROM (0) TO (100)")
			e.exec("CREATE TABLE " + e.table("events_high") + " PARTITION OF " + root + " FOR VALUES FROM (100) TO (200)")
			e.exec("INSERT INTO " + root + " VALUES (1, 'a'), (150, 'b')")
			if existing {
				e.exec("CREATE PUBLICATION " + quoteIdent(e.pub) + " FOR TABLE " + root)
			}
			cat := e.open("events")
			id := e.schema + "-events"
			recs, state := e.sync(cat, nil)
			want := []string{
				`{"type":"RECORD","stream":"` + id + `","record":{"id":1,"v":"a"},"version":` + strconv.FormatInt(sqltaptest.Version, 10) + `,"time_extracted":"2024-05-06T07:08:09Z"}`,
				`{"type":"RECORD","stream":"` + id + `","record":{"id":150,"v":"b"},"version":` + strconv.FormatInt(sqltaptest.Version, 10) + `,"time_extracted":"2024-05-06T07:08:09Z"}`,
			}
			if strings.Join(recs, "\n") != strings.Join(want, "\n") {
				t.Fatalf("snapshot:\n%s\nwant:\n%s", strings.Join(recs, "\n"), strings.Join(want, "\n"))
			}
			var viaRoot bool
			if err := e.conn.QueryRow(context.Background(), "SELECT pubviaroot FROM pg_publication WHERE pubname = $1", e.pub).Scan(&viaRoot); err != nil || !viaRoot {
				t.Errorf("publication %s: pubviaroot %v, %v", e.pub, viaRoot, err)
			}
			e.exec("INSERT INTO " + root + " VALUES (2, 'c'), (160, 'd')")
			e.exec("UPDATE " + root + " SET v = 'B' WHERE id = 150")
			e.exec("DELETE FROM " + root + " WHERE id = 1")
			recs, _ = e.sync(cat, state.Clone())
			want = []string{
				logRecord(id, `{"id":2,"v":"c","_sdc_deleted_at":null}`),
				logRecord(id, `{"id":160,"v":"d","_sdc_deleted_at":null}`),
				logRecord(id, `{"id":150,"v":"B","_sdc_deleted_at":null}`),
				logRecord(id, `{"id":1,"_sdc_deleted_at":"`),
			}
			if len(recs) != len(want) {
				t.Fatalf("changes: %d records, want %d:\n%s", len(recs), len(want), strings.Join(recs, "\n"))
			}
			for i, w := range want {
				if i == 3 {
					w = w[:strings.Index(w, `"_sdc_deleted_at":"`)+len(`"_sdc_deleted_at":"`)]
					if !strings.HasPrefix(recs[i], w) {
						t.Errorf("delete record %s, want prefix %s", recs[i], w)
					}
					continue
				}
				if recs[i] != w {
					t.Errorf("record %d:\n got %s\nwant %s", i, recs[i], w)
				}
			}
		})
	}
}
