package postgres

import (
	"strings"
	"testing"
)

// TestLogBasedKeyChange updates a row's primary key: the change stream
// sends a delete of the old key (with its commit time) before the row
// under its new key, so a target merging on keys does not keep the old
// row; for the default replica identity and REPLICA IDENTITY FULL.
func TestLogBasedKeyChange(t *testing.T) {
	e := newLogEnv(t, "rekey")
	for _, name := range []string{"plain", "full"} {
		e.exec("CREATE TABLE " + e.table(name) + " (id integer PRIMARY KEY, v text)")
		e.exec("INSERT INTO " + e.table(name) + " VALUES (1, 'a'), (2, 'b')")
	}
	e.exec("ALTER TABLE " + e.table("full") + " REPLICA IDENTITY FULL")
	cat := e.open("plain", "full")
	_, state := e.sync(cat, nil)
	for _, name := range []string{"plain", "full"} {
		e.exec("UPDATE " + e.table(name) + " SET id = 10 WHERE id = 1")
		e.exec("UPDATE " + e.table(name) + " SET v = 'B' WHERE id = 2")
	}
	recs, _ := e.sync(cat, state.Clone())
	var want []string
	for _, name := range []string{"plain", "full"} {
		id := e.schema + "-" + name
		want = append(want,
			logRecord(id, `{"id":1,"_sdc_deleted_at":"`),
			logRecord(id, `{"id":10,"v":"a","_sdc_deleted_at":null}`),
			logRecord(id, `{"id":2,"v":"B","_sdc_deleted_at":null}`))
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(recs), len(want), strings.Join(recs, "\n"))
	}
	for i, w := range want {
		if strings.Contains(w, `"_sdc_deleted_at":"`) {
			prefix := w[:strings.Index(w, `"_sdc_deleted_at":"`)+len(`"_sdc_deleted_at":"`)]
			if !strings.HasPrefix(recs[i], prefix) || !strings.Contains(recs[i], `Z"},"version"`) {
				t.Errorf("record %d:\n got %s\nwant a delete %s...", i, recs[i], prefix)
			}
			continue
		}
		if recs[i] != w {
			t.Errorf("record %d:\n got %s\nwant %s", i, recs[i], w)
		}
	}
}
