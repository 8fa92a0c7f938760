package mysql

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/singerkit/singerkit/singer"
	"github.com/singerkit/singerkit/taps/sqltap/sqltaptest"
)

// recordField lists field of every RECORD of lines, in order.
func recordField(t *testing.T, lines []string, field string) string {
	t.Helper()
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, `{"type":"RECORD"`) {
			continue
		}
		var m struct{ Record map[string]json.RawMessage }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Record[field]))
	}
	return strings.Join(out, ",")
}

// TestMy5FloatEnumKeys: float, double and enum columns are replication
// keys. A float bookmark is the exact double of the value (its 6-digit
// text would skip the rows equal to it, and tell 1.0000001 from 1.0000002
// apart no better than "1"); an enum bookmark is its label, compared by
// index as the column sorts.
func TestMy5FloatEnumKeys(t *testing.T) {
	db := connect(t)
	name := testDB(t, db)
	q := quoteIdent(name)
	mustExec(t, db,
		"CREATE TABLE "+q+".my5_fe (id int PRIMARY KEY, f float, d double, e enum('zz','aa','mm'))",
		"INSERT INTO "+q+".my5_fe VALUES (1, 0.7, 0.1, 'aa'), (2, 1.0000001, 0.3, 'zz'), (3, 1.0000002, 0.30000000000000004, 'mm'), (4, 0.7, 0.2, 'aa')",
		"CREATE TABLE "+q+".my5_fk (k float PRIMARY KEY)",
		"INSERT INTO "+q+".my5_fk VALUES (1.0000002), (0.7), (1.0000001), (16777218), (16777216)",
		"CREATE TABLE "+q+".my5_ek (k enum('zz','aa','mm') PRIMARY KEY)",
		"INSERT INTO "+q+".my5_ek VALUES ('mm'), ('zz'), ('aa')",
	)
	env := &sqltaptest.Env{Driver: testDriver(t, name)}
	id := name + "-my5_fe"
	cat := sqltaptest.Discover(t, env)
	keys, _ := cat.Stream(id).Metadata.ValidReplicationKeys()
	if got := strings.Join(keys, ","); got != "id,f,d,e" {
		t.Errorf("valid-replication-keys %s, want id,f,d,e", got)
	}

	cases := []struct {
		name, key string
		from      any // the bookmark of the first run, nil for none
		ids       string
		bookmark  string // the state's value after the run
		again     string // ids of a second run from that state
	}{
		{"float", "f", nil, "1,4,2,3", "1.000000238418579", "3"},
		{"float from the exact 0.7", "f", json.Number("0.699999988079071"), "1,4,2,3", "1.000000238418579", "3"},
		{"double", "d", nil, "1,4,2,3", "0.30000000000000004", "3"},
		{"double between", "d", json.Number("0.2"), "4,2,3", "0.30000000000000004", "3"},
		{"enum", "e", nil, "2,1,4,3", `"mm"`, "3"},
		// By index aa < mm; as text "zz" >= "aa" too.
		{"enum from aa", "e", "aa", "1,4,3", `"mm"`, "3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat := sqltaptest.Discover(t, env)
			sqltaptest.Select(t, cat, singer.ReplicationIncremental, c.key, id)
			state := singer.NewState()
			if c.from != nil {
				state.SetBookmark(id, "replication_key", c.key)
				state.SetBookmark(id, "replication_key_value", c.from)
			}
			lines, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, state)
			if err != nil {
				t.Fatal(err)
			}
			if got := recordField(t, lines, "id"); got != c.ids {
				t.Errorf("ids %s, want %s", got, c.ids)
			}
			last := lines[len(lines)-1]
			if want := `"replication_key_value":` + c.bookmark + `}`; !strings.Contains(last, want) {
				t.Errorf("last state %s, want %s", last, want)
			}
			lines, err = sqltaptest.Sync(t, env, sqltaptest.Options(), cat, lastState(t, lines))
			if err != nil {
				t.Fatal(err)
			}
			if got := recordField(t, lines, "id"); got != c.again {
				t.Errorf("second run ids %s, want %s", got, c.again)
			}
		})
	}

	t.Run("enum label not in the column", func(t *testing.T) {
		cat := sqltaptest.Discover(t, env)
		sqltaptest.Select(t, cat, singer.ReplicationIncremental, "e", id)
		state := singer.NewState()
		state.SetBookmark(id, "replication_key", "e")
		state.SetBookmark(id, "replication_key_value", "gone")
		_, err := sqltaptest.Sync(t, env, sqltaptest.Options(), cat, state)
		want := `stream "` + id + `": reading ` + id + `: bookmark of column "e": "gone" is not a value of enum('zz','aa','mm') (the column changed? remove the bookmark to read the stream again)`
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		} else if cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("err %v: exit %d, want 2", err, cli.ExitCode(err))
		}
	})

	// Float and enum primary keys chunk in their own order, one row per
	// chunk: no row is lost to a rounded float text or a label compared
	// as text.
	for _, c := range []struct{ table, records string }{
		{"my5_fk", "0.7,1.0000001,1.0000002,1.6777216e+07,1.6777218e+07"},
		{"my5_ek", `"zz","aa","mm"`},
	} {
		t.Run("chunks "+c.table, func(t *testing.T) {
			cat := sqltaptest.Discover(t, env)
			sqltaptest.Select(t, cat, singer.ReplicationFullTable, "", name+"-"+c.table)
			opts := sqltaptest.Options()
			opts.ChunkSize = 1
			lines, err := sqltaptest.Sync(t, env, opts, cat, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := recordField(t, lines, "k"); got != c.records {
				t.Errorf("records %s, want %s", got, c.records)
			}
		})
	}
}
