package streammap

import (
	"fmt"
	"testing"

	"github.com/singerkit/singerkit/singer"
)

// The native forms give what the VM gives, value for value, on records
// with every kind of value (or they fall back to it).
func TestNativeAgreesWithVM(t *testing.T) {
	cfg := map[string]any{"key": "k", "n": 3, "f": 1.5}
	exprs := []string{
		`sha256(email)`, `md5(n)`, `hmac_sha256(lower(email), config.key)`, `mask(phone, 4)`, `redact(phone)`,
		`lower(email)`, `upper(trim(email))`, `date_trunc("day", ts)`, `coalesce(missing, email)`, `int(n)`, `float(n)`,
		`str(amount)`, `decimal(amount)`, `bool(email)`, `json(n)`,
		`n > 2`, `n >= 42`, `n < 1.5`, `amount <= 3`, `email == "a@b.c"`, `email != nil`, `missing == nil`, `n == config.n`,
		`n > 2 and email != nil`, `n < 2 or missing == nil`, `not (n > 2)`, `email > "a"`, `email > 2`, `missing > 2`,
		`config.f * n`, `sha256(phone)`, `md5(missing)`, `n != 0`, `n == 42`, `n < -1`, `amount >= 3`,
	}
	records := []string{
		`{"email":"A@B.c ","phone":"+44 20 7946 0958","n":42,"amount":1.25,"ts":"2026-12-03T06:38:59Z"}`,
		`{"email":null,"phone":"","n":-1,"amount":3,"ts":"2026-01-01"}`,
		`{"n":2.5,"amount":12345678901234567890.5}`,
		`{"email":"a\"b\u00e9","phone":12,"n":99999999999999999999,"amount":-0,"ts":null}`,
		`{"email":true,"phone":[1,"x"],"n":{"a":1},"amount":"3"}`,
	}
	// The same records decoded into values, as a target that maps on
	// values decodes them (ts is not declared: it is an extra property).
	in, err := singer.CompileSchema([]byte(`{"type":"object","properties":{"email":{},"phone":{},"n":{},"amount":{}}}`), singer.SchemaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rm := &RowMap{cols: map[string]int{}, row: &singer.Row{}}
	for i, c := range in.Plan.Columns {
		rm.cols[c.Name] = i
	}
	m := &Mapper{config: cfg}
	for _, src := range exprs {
		p, err := compileExpr(src, false, cfg)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		sm := &streamMap{env: map[string]any{varConfig: cfg}, vars: p.vars, raws: p.raws}
		for _, rec := range records {
			if m.members, _, err = scanMembers(m.members[:0], []byte(rec)); err != nil {
				t.Fatal(err)
			}
			if err := m.fillEnv(sm, "s"); err != nil {
				t.Fatal(err)
			}
			want, wantErr := m.vm.Run(p.prog, sm.env)
			if _, err := in.Plan.Decode([]byte(rec), rm.row); err != nil {
				t.Fatal(err)
			}
			for _, rows := range []bool{false, true} {
				if rows {
					m.row = rm
					// On values, the VM's environment is made from them.
					if err := m.fillEnv(sm, "s"); err != nil {
						t.Fatal(err)
					}
					rowWant, rowErr := m.vm.Run(p.prog, sm.env)
					if fmt.Sprintf("%#v %v", rowWant, rowErr != nil) != fmt.Sprintf("%#v %v", want, wantErr != nil) {
						t.Errorf("%s on %s: VM on values %#v (%v), on JSON %#v (%v)", src, rec, rowWant, rowErr, want, wantErr)
					}
				}
				if p.native == nil {
					m.row = nil
					continue
				}
				got, gotErr := p.native(m)
				m.row = nil
				if gotErr == errFallback {
					continue
				}
				if fmt.Sprintf("%#v %v", got, gotErr != nil) != fmt.Sprintf("%#v %v", want, wantErr != nil) {
					t.Errorf("%s on %s (values %v): native %#v (%v), VM %#v (%v)", src, rec, rows, got, gotErr, want, wantErr)
				}
			}
		}
	}
	// The forms the brief's maps use run natively.
	for _, src := range []string{`sha256(email)`, `hmac_sha256(lower(email), config.key)`, `id > 0`, `mask(phone, 4)`} {
		if p, _ := compileExpr(src, false, cfg); p.native == nil {
			t.Errorf("%s does not run natively", src)
		}
	}
}
