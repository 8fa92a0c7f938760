package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// mapsAbout declares the stream map keys, as every binary's schema does.
var mapsAbout = About{
	Name: "tap-test", Version: "1",
	Settings: []byte(`{"type":"object","additionalProperties":false,"properties":{"stream_maps":{"type":"object"},"stream_map_config":{"type":"object"},"flattening_enabled":{"type":"boolean"},"flattening_max_depth":{"type":"integer"}}}`),
}

const mapsConfig = `{"stream_maps":{"users":{"email":"hmac_sha256(email, config.k)","phone":null,"__filter__":"id != 2"}},"stream_map_config":{"k":"key"}}`

// A tap's messages are mapped on their way out, by the shared command
// line: the tap itself knows nothing of it.
func TestTapOutputIsMapped(t *testing.T) {
	spec := TapSpec{About: mapsAbout, Sync: func(ctx context.Context, env *Env, _ *singer.Catalog, _ *singer.State, out *singer.Encoder) error {
		if err := out.WriteSchema(singer.SchemaMessage{Stream: "users", Schema: json.RawMessage(`{"properties":{"id":{"type":"integer"},"email":{"type":"string"},"phone":{"type":"string"}}}`), KeyProperties: []string{"id"}}); err != nil {
			return err
		}
		for i, e := range []string{"ada@example.com", "grace@navy.mil"} {
			if err := out.WriteRecord(singer.RecordMessage{Stream: "users", Record: json.RawMessage(`{"id":` + string(rune('1'+i)) + `,"email":"` + e + `","phone":"+1 555 0100"}`)}); err != nil {
				return err
			}
			if err := out.WriteState(json.RawMessage(`{"n":` + string(rune('1'+i)) + `}`)); err != nil {
				return err
			}
		}
		return nil
	}}
	cfg := writeFile(t, t.TempDir(), "c.json", mapsConfig)
	code, stdout, stderr := runTapTest(t, spec, "--config", cfg)
	want := `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"email":{"type":["string","null"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"20caa94149b865c2f3a23002c8ca0b02e3dba113236448a96eae078e7e3a6cc0"}}
{"type":"STATE","value":{"n":1}}
{"type":"STATE","value":{"n":2}}
`
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	for _, pii := range []string{"ada@example.com", "grace@navy.mil", "555"} {
		if strings.Contains(stdout+stderr, pii) {
			t.Errorf("%q leaked", pii)
		}
	}
}

// A target reads its input mapped; without maps it reads stdin itself
// (nothing re-read, nothing re-encoded).
func TestTargetInputIsMapped(t *testing.T) {
	in := `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"email":{"type":"string"},"phone":{"type":"string"}}},"key_properties":["id"]}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"ada@example.com","phone":"+1 555 0100"}}
{"type":"STATE","value":{"n":1}}
`
	var got string
	var sameReader bool
	stdin := strings.NewReader(in)
	spec := TargetSpec{About: mapsAbout, Run: func(ctx context.Context, env *Env, r io.Reader, out *singer.Encoder) error {
		sameReader = r == io.Reader(stdin)
		b, err := io.ReadAll(r)
		got = string(b)
		return err
	}}
	dir := t.TempDir()
	for _, c := range []struct {
		config, want string
		same         bool
	}{
		{mapsConfig, `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"},"email":{"type":["string","null"]}}},"key_properties":["id"]}
{"type":"RECORD","stream":"users","record":{"id":1,"email":"20caa94149b865c2f3a23002c8ca0b02e3dba113236448a96eae078e7e3a6cc0"}}
{"type":"STATE","value":{"n":1}}
`, false},
		{`{}`, in, true},
	} {
		stdin.Reset(in)
		var o, e bytes.Buffer
		code := RunTarget(context.Background(), spec, []string{"--config", writeFile(t, dir, "c.json", c.config)}, stdin, &o, &e)
		if code != 0 || got != c.want || sameReader != c.same || e.Len() != 0 {
			t.Errorf("config %s: exit %d, same reader %v\ninput read:\n%s\nstderr: %s", c.config, code, sameReader, got, e.String())
		}
	}
}

// A target that maps inside (MapsInside) reads stdin itself and gets the
// compiled maps in its Env; without maps it gets none.
func TestTargetMapsInside(t *testing.T) {
	in := `{"type":"STATE","value":{"n":1}}` + "\n"
	stdin := strings.NewReader(in)
	var got string
	var sameReader, hasMaps bool
	spec := TargetSpec{About: mapsAbout, MapsInside: true, Run: func(ctx context.Context, env *Env, r io.Reader, out *singer.Encoder) error {
		sameReader, hasMaps = r == io.Reader(stdin), env.Maps != nil
		b, err := io.ReadAll(r)
		got = string(b)
		return err
	}}
	dir := t.TempDir()
	for _, c := range []struct {
		config string
		maps   bool
	}{{mapsConfig, true}, {`{}`, false}} {
		stdin.Reset(in)
		var o, e bytes.Buffer
		code := RunTarget(context.Background(), spec, []string{"--config", writeFile(t, dir, "c.json", c.config)}, stdin, &o, &e)
		if code != 0 || got != in || !sameReader || hasMaps != c.maps || e.Len() != 0 {
			t.Errorf("config %s: exit %d, same reader %v, maps %v\ninput read:\n%s\nstderr: %s", c.config, code, sameReader, hasMaps, got, e.String())
		}
	}
}

// A map that does not fit a stream is one line, exit 2, in a target as in
// a tap; so is a bad expression, before anything runs.
func TestMapErrorsInBinaries(t *testing.T) {
	dir := t.TempDir()
	in := `{"type":"SCHEMA","stream":"users","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}` + "\n"
	spec := TargetSpec{About: mapsAbout, Run: func(ctx context.Context, env *Env, r io.Reader, out *singer.Encoder) error {
		dec := singer.NewDecoder(r)
		for dec.Next() {
		}
		return dec.Err()
	}}
	for _, c := range []struct{ config, want string }{
		{`{"stream_maps":{"users":{"id":null}}}`, "tap-test: error: stream_maps.users: the map removes key property \"id\" of stream \"users\": keep it, rename it with a copy (\"new_name\": \"id\"), or set __key_properties__ (a list, or [] for none)\n"},
		{`{"stream_maps":{"users":{"x":"id +"}}}`, "tap-test: error: invalid config: stream_maps.users.x: \"id +\": column 4: unexpected token EOF\n"},
		{`{"flattening_enabled":true,"flattening_max_depth":-1}`, "tap-test: error: invalid config: flattening_max_depth: must be an integer >= 0, not -1\n"},
	} {
		var o, e bytes.Buffer
		code := RunTarget(context.Background(), spec, []string{"--config", writeFile(t, dir, "c.json", c.config)}, strings.NewReader(in), &o, &e)
		if code != 2 || e.String() != c.want {
			t.Errorf("config %s: exit %d, stderr %q\nwant 2 %q", c.config, code, e.String(), c.want)
		}
	}
}
