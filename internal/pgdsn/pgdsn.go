// Package pgdsn holds what tap-postgres and target-postgres share about
// connecting: the keyword/value connection string, and one TLS policy for
// the sslmode keys and for a postgres:// URL.
package pgdsn

import (
	"fmt"
	"net/url"
	"strings"
)

// Keywords joins key/value pairs into a keyword/value connection string
// (PostgreSQL's `host='h' port='5432'` form): values single-quoted with
// backslash escapes, pairs with an empty value left out.
func Keywords(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" {
			parts = append(parts, pairs[i]+"='"+strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`)+"'")
		}
	}
	return strings.Join(parts, " ")
}

// SSL is a config's TLS keys for PostgreSQL, named as libpq names
// them: sslmode, sslrootcert, sslcert, sslkey.
type SSL struct {
	Mode, RootCert, Cert, Key string
}

// Resolve applies the TLS policy of tap-postgres and target-postgres to
// the keys: a file given (sslrootcert, sslcert, sslkey) means TLS used and
// the server verified, never a silent downgrade. With sslmode unset it
// becomes verify-full (libpq's default, prefer, would try TLS without
// verifying anything and fall back to plaintext); next to an sslmode that
// allows plaintext (disable, allow, prefer) it is a config error. require
// with sslrootcert verifies the chain (verify-ca), as libpq does. With no
// file, the keys are as given (libpq's prefer when unset).
func (p SSL) Resolve() (SSL, []string) {
	var files []string
	for _, f := range []struct{ key, v string }{{"sslrootcert", p.RootCert}, {"sslcert", p.Cert}, {"sslkey", p.Key}} {
		if f.v != "" {
			files = append(files, f.key)
		}
	}
	if len(files) == 0 {
		return p, nil
	}
	switch p.Mode {
	case "":
		p.Mode = "verify-full"
	case "disable", "allow", "prefer":
		return p, []string{fmt.Sprintf("sslmode %s may connect without TLS, but %s is set: set sslmode to verify-full (or verify-ca, or require), or remove %s", p.Mode, strings.Join(files, ", "), strings.Join(files, ", "))}
	}
	return p, nil
}

// ResolveURL applies the same policy to the query parameters of a
// postgres:// URL, and refuses TLS keys next to a url (the url replaces
// the connection keys; TLS goes in its query). A url in libpq's keyword
// form is left as it is.
func ResolveURL(u string, keys SSL) (string, []string) {
	var given []string
	for _, k := range []struct{ key, v string }{{"sslmode", keys.Mode}, {"sslrootcert", keys.RootCert}, {"sslcert", keys.Cert}, {"sslkey", keys.Key}} {
		if k.v != "" {
			given = append(given, k.key)
		}
	}
	if len(given) > 0 {
		return u, []string{fmt.Sprintf("url and %s are both set: the url replaces the connection keys, so put TLS in its query (?sslmode=verify-full&sslrootcert=...), or use host, port, user and dbname instead of url", strings.Join(given, ", "))}
	}
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return u, nil
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return u, nil // pgx says what is wrong with it
	}
	q := parsed.Query()
	p, problems := SSL{Mode: q.Get("sslmode"), RootCert: q.Get("sslrootcert"), Cert: q.Get("sslcert"), Key: q.Get("sslkey")}.Resolve()
	if len(problems) > 0 || p.Mode == q.Get("sslmode") {
		return u, problems
	}
	q.Set("sslmode", p.Mode)
	parsed.RawQuery = q.Encode()
	return parsed.String(), nil
}
