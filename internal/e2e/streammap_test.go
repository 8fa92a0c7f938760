package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/testenv"
	"github.com/singerkit/singerkit/internal/toolkit"
	csvtap "github.com/singerkit/singerkit/taps/csv"
	"github.com/singerkit/singerkit/targets/jsonl"
	targetpg "github.com/singerkit/singerkit/targets/postgres"
)

// The stream maps tests: personal data planted in a CSV file is hashed or
// dropped on its way to PostgreSQL (or JSONL files), by the target's own
// stream_maps or by singer map between tap-csv and the target, and never
// appears in the table, the files or any log.

const (
	plantedEmail = "Planted.Person@Example.org"
	plantedPhone = "+44 20 7946 0123"
	hashKey      = "e2e-hmac-key"
)

// piiCSV writes the source file: the planted person and two others.
func piiCSV(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "people.csv")
	text := "id,email,phone,name,amount\n" +
		"1," + plantedEmail + "," + plantedPhone + ",Planted Person,10.10\n" +
		"2,ada@example.com,+1 555 0100,Ada,0.30\n" +
		"3,grace@example.com,+1 555 0101,Grace,12345678901234.5678\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// piiMaps hash the email with a key (the key of the stream: the same
// person hashes the same on every run, so a rerun merges), drop the phone
// and rename name to full_name.
var piiMaps = map[string]any{
	"stream_maps": map[string]any{"people": map[string]any{
		"email":              "hmac_sha256(lower(email), config.k)",
		"phone":              nil,
		"full_name":          "name",
		"name":               "__NULL__",
		"__key_properties__": []string{"email"},
		"__filter__":         "id != 2",
	}},
	"stream_map_config": map[string]any{"k": hashKey},
}

// runPipe runs tap-csv | [singer map] | target in-process, through their
// command lines, and returns the three stderr texts.
func runPipe(t *testing.T, tapCfg, mapCfg, tgtCfg string, target cli.TargetSpec) string {
	t.Helper()
	ctx := context.Background()
	var logs [3]bytes.Buffer
	tapR, tapW := io.Pipe()
	tapDone := make(chan int, 1)
	go func() {
		code := cli.RunTap(ctx, csvtap.Spec(), []string{"--config", tapCfg}, nil, tapW, &logs[0])
		tapW.Close()
		tapDone <- code
	}()
	in := io.Reader(tapR)
	mapDone := make(chan int, 1)
	if mapCfg != "" {
		mapR, mapW := io.Pipe()
		go func() {
			code := toolkit.Run(ctx, []string{"map", "--config", mapCfg}, tapR, mapW, &logs[1])
			_, _ = io.Copy(io.Discard, tapR)
			mapW.Close()
			mapDone <- code
		}()
		in = mapR
	} else {
		mapDone <- 0
	}
	var states bytes.Buffer
	tgtCode := cli.RunTarget(ctx, target, []string{"--config", tgtCfg}, in, &states, &logs[2])
	_, _ = io.Copy(io.Discard, in)
	if code := <-tapDone; code != 0 {
		t.Fatalf("tap exit %d: %s", code, logs[0].String())
	}
	if code := <-mapDone; code != 0 {
		t.Fatalf("singer map exit %d: %s", code, logs[1].String())
	}
	if tgtCode != 0 {
		t.Fatalf("target exit %d: %s", tgtCode, logs[2].String())
	}
	if !strings.Contains(states.String(), `"people"`) {
		t.Errorf("the target echoed no state of the stream: %q", states.String())
	}
	return logs[0].String() + logs[1].String() + logs[2].String() + states.String()
}

func noPII(t *testing.T, where, text string) {
	t.Helper()
	for _, pii := range []string{plantedEmail, strings.ToLower(plantedEmail), plantedPhone, "7946", "Planted.Person"} {
		if strings.Contains(text, pii) {
			t.Errorf("%s holds %q:\n%s", where, pii, text)
		}
	}
}

func hmacOf(s string) string {
	// The expected values are computed independently of the package
	// under test: openssl dgst -sha256 -hmac e2e-hmac-key.
	return map[string]string{
		"planted.person@example.org": "08f7443084cda73185df54895c050ee227172baed538fc392a497b60966f7d6a",
		"grace@example.com":          "c7505a2bdb99899ca4127888e051ba3d22dede834435665794c9193e0c6866be",
	}[s]
}

// TestStreamMapsPIIIntoPostgres: the maps in target-postgres's own config,
// and the same maps in singer map between tap-csv and target-postgres;
// each run twice (the hashed key merges the second run).
func TestStreamMapsPIIIntoPostgres(t *testing.T) {
	pg := postgres(t)
	for _, via := range []string{"target", "singer map"} {
		t.Run(via, func(t *testing.T) {
			dst := name(t, "")
			postgresSchema(t, pg, dst)
			dir := t.TempDir()
			tapCfg := writeJSON(t, dir, "tap.json", map[string]any{"files": []map[string]any{{"stream": "people", "path": piiCSV(t, dir), "key_properties": []string{"id"}}}})
			tgt := map[string]any{"url": testenv.PostgresURL(), "default_target_schema": dst}
			mapCfg := ""
			if via == "target" {
				for k, v := range piiMaps {
					tgt[k] = v
				}
			} else {
				mapCfg = writeJSON(t, dir, "maps.json", piiMaps)
			}
			tgtCfg := writeJSON(t, dir, "target.json", tgt)
			for run := 0; run < 2; run++ {
				logs := runPipe(t, tapCfg, mapCfg, tgtCfg, targetpg.Spec())
				noPII(t, "the logs", logs)
			}
			table := pgx.Identifier{dst, "people"}.Sanitize()
			rows := pgTexts(t, pg, "SELECT email, full_name, amount::text, id::text FROM "+table+" ORDER BY id", func(s []string) string { return strings.Join(s, "|") })
			want := []string{
				hmacOf("planted.person@example.org") + "|Planted Person|10.10|1",
				hmacOf("grace@example.com") + "|Grace|12345678901234.5678|3",
			}
			if strings.Join(rows, "\n") != strings.Join(want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
			}
			all := pgTexts(t, pg, "SELECT t::text FROM "+table+" t", func(s []string) string { return s[0] })
			noPII(t, "the table", strings.Join(all, "\n"))
			cols := pgTexts(t, pg, "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_schema = '"+dst+"' AND table_name = 'people'", func(s []string) string { return s[0] })
			if cols[0] != "amount,email,full_name,id" {
				t.Errorf("columns %s", cols[0])
			}
		})
	}
}

// TestStreamMapsPIIIntoJSONL: tap-csv | singer map | target-jsonl.
func TestStreamMapsPIIIntoJSONL(t *testing.T) {
	dir := t.TempDir()
	tapCfg := writeJSON(t, dir, "tap.json", map[string]any{"files": []map[string]any{{"stream": "people", "path": piiCSV(t, dir), "key_properties": []string{"id"}}}})
	mapCfg := writeJSON(t, dir, "maps.json", piiMaps)
	out := filepath.Join(dir, "out")
	tgtCfg := writeJSON(t, dir, "target.json", map[string]any{"destination_path": out})
	noPII(t, "the logs", runPipe(t, tapCfg, mapCfg, tgtCfg, jsonl.Spec()))
	b, err := os.ReadFile(filepath.Join(out, "people.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"email":"` + hmacOf("planted.person@example.org") + `","amount":10.10,"full_name":"Planted Person"}` + "\n" +
		`{"id":3,"email":"` + hmacOf("grace@example.com") + `","amount":12345678901234.5678,"full_name":"Grace"}` + "\n"
	if string(b) != want {
		t.Errorf("people.jsonl:\n%s\nwant:\n%s", b, want)
	}
	noPII(t, "people.jsonl", string(b))
}
