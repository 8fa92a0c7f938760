package singer

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
)

// These helpers build what the database drivers' configs need from a
// binary's config, with no database import: the taps and targets of one
// database share them.

// Redact replaces every secret (of 3 bytes or more) in msg with ***, so that
// an error from a driver never shows a password or a DSN.
func Redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}

// KeywordDSN joins key/value pairs into a keyword/value connection string
// (PostgreSQL's `host='h' port='5432'` form): values single-quoted with
// backslash escapes, pairs with an empty value left out.
func KeywordDSN(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" {
			parts = append(parts, pairs[i]+"='"+strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`)+"'")
		}
	}
	return strings.Join(parts, " ")
}

// TLSFiles are the PEM files of a TLS connection to a database.
type TLSFiles struct {
	CA   string // the CA that signed the server's certificate (empty: the system's trust store)
	Cert string // the client certificate, with Key
	Key  string
}

// TLSConfig builds a client TLS config for serverName from the files. It
// returns every problem with the files, each naming the config key (ssl_ca,
// ssl_cert, ssl_key).
func TLSConfig(serverName string, f TLSFiles, skipVerify bool) (*tls.Config, []string) {
	tc := &tls.Config{ServerName: serverName, InsecureSkipVerify: skipVerify}
	var problems []string
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			problems = append(problems, "ssl_ca: "+err.Error())
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				problems = append(problems, "ssl_ca: "+f.CA+" holds no PEM certificate")
			}
			tc.RootCAs = pool
		}
	}
	if (f.Cert == "") != (f.Key == "") {
		problems = append(problems, "ssl_cert and ssl_key go together: set both or neither")
	} else if f.Cert != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			problems = append(problems, "ssl_cert/ssl_key: "+err.Error())
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, problems
}
