package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const testConfigSchema = `{"type":"object","required":["host","dbname"],"properties":{
	"host":{"type":"string"},"port":{"type":"integer","minimum":1,"maximum":65535},
	"dbname":{"type":"string"},"password":{"type":"string","minLength":20},
	"batch":{"type":"object","properties":{"rows":{"type":"integer"},"bytes":{"type":"integer"}}}}}`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigMerge(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.json", `{"host":"h1","dbname":"d","port":5432,"batch":{"rows":10,"bytes":100}}`)
	b := writeFile(t, dir, "b.json", `{"host":"h2","batch":{"rows":20}}`)
	c, err := Load([]string{a, b}, []byte(testConfigSchema))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.JSON) != `{"batch":{"bytes":100,"rows":20},"dbname":"d","host":"h2","port":5432}` {
		t.Errorf("merged %s", c.JSON)
	}
}

func TestLoadConfigProblems(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.json", `{"port":"x","password":"hunter2-secret"}`)
	_, err := Load([]string{bad}, []byte(testConfigSchema))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a config error, got %v", err)
	}

	got := ce.Problems
	wantProblems := []string{"missing properties: 'host', 'dbname'", "password: length must be >= 20, but got 14", "port: expected integer, but got string"}
	if len(got) != len(wantProblems) {
		t.Fatalf("problems %q", got)
	}
	for i := range got {
		if got[i] != wantProblems[i] {
			t.Errorf("problem %d: %q want %q", i, got[i], wantProblems[i])
		}
	}
	_, err = Load([]string{filepath.Join(dir, "missing.json"), writeFile(t, dir, "x.json", "{")}, nil)
	if err == nil || err.Error() != "invalid config (2 problems): cannot read "+filepath.Join(dir, "missing.json")+": no such file or directory; "+filepath.Join(dir, "x.json")+" is not valid JSON: unexpected EOF" {
		t.Errorf("got %v", err)
	}
}
