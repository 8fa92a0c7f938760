package pgdsn

import (
	"strings"
	"testing"
)

func TestKeywordDSN(t *testing.T) {
	got := Keywords("host", "db.example", "port", "5432", "user", "", "password", `it's a \ pw`)
	if want := `host='db.example' port='5432' password='it\'s a \\ pw'`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestPostgresSSLPolicy(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		keys     SSL
		wantURL  string
		wantMode string
		want     string // the problem
	}{
		{name: "nothing given: libpq's default", keys: SSL{}},
		{name: "sslmode alone", keys: SSL{Mode: "prefer"}, wantMode: "prefer"},
		{name: "sslrootcert alone means verify-full", keys: SSL{RootCert: "ca.pem"}, wantMode: "verify-full"},
		{name: "a client certificate alone means verify-full", keys: SSL{Cert: "c.pem", Key: "k.pem"}, wantMode: "verify-full"},
		{name: "require with sslrootcert stays (verify-ca, as libpq)", keys: SSL{Mode: "require", RootCert: "ca.pem"}, wantMode: "require"},
		{name: "allow with sslrootcert", keys: SSL{Mode: "allow", RootCert: "ca.pem"},
			want: "sslmode allow may connect without TLS, but sslrootcert is set: set sslmode to verify-full (or verify-ca, or require), or remove sslrootcert"},
		{name: "url with sslrootcert only", url: "postgres://u:pw@h:5432/db?sslrootcert=%2Fca.pem",
			wantURL: "postgres://u:pw@h:5432/db?sslmode=verify-full&sslrootcert=%2Fca.pem"},
		{name: "url with sslmode verify-ca", url: "postgresql://h/db?sslmode=verify-ca&sslrootcert=ca.pem", wantURL: "postgresql://h/db?sslmode=verify-ca&sslrootcert=ca.pem"},
		{name: "keyword url is left alone", url: "host=h sslrootcert=ca.pem", wantURL: "host=h sslrootcert=ca.pem"},
		{name: "url and keys", url: "postgres://h/db", keys: SSL{Mode: "require"},
			want: "url and sslmode are both set: the url replaces the connection keys, so put TLS in its query (?sslmode=verify-full&sslrootcert=...), or use host, port, user and dbname instead of url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var problems []string
			if tt.url != "" {
				var got string
				got, problems = ResolveURL(tt.url, tt.keys)
				if len(problems) == 0 && got != tt.wantURL {
					t.Errorf("url %q, want %q", got, tt.wantURL)
				}
			} else {
				var got SSL
				got, problems = tt.keys.Resolve()
				if len(problems) == 0 && got.Mode != tt.wantMode {
					t.Errorf("sslmode %q, want %q", got.Mode, tt.wantMode)
				}
			}
			if strings.Join(problems, "; ") != tt.want {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}
