package mysqlconn

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

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
