// Package mysqlconn holds what tap-mysql and target-mysql share about
// connecting: one TLS policy for both, applied to a go-sql-driver config
// whether it came from a dsn or from the host keys.
//
//	mc, _ := mysql.ParseDSN(cfg.DSN)
//	if problems := mysqlconn.TLS{SSL: "true", Files: TLSFiles{CA: "ca.pem"}}.Apply(mc, true); len(problems) > 0 {
//		// one config error (exit 2)
//	}
package mysqlconn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// TLS is a config's TLS keys: ssl, ssl_ca, ssl_cert, ssl_key and
// ssl_skip_verify (target-mysql's ssl "skip-verify" sets SkipVerify).
type TLS struct {
	// SSL is the ssl key: "" when unset, "true", "false" or "preferred".
	SSL        string
	SkipVerify bool
	Files      TLSFiles
}

// Apply sets mc's TLS by the one policy of tap and target: any TLS key
// given means TLS is used, and the server's certificate verified (chain
// and host name) unless ssl_skip_verify says otherwise; a connection falls
// back to plaintext only with ssl "preferred", asked for by name. It
// returns the config's problems, each one line: ssl false next to other
// TLS keys, or TLS keys next to a dsn that has its own tls parameter
// (fromDSN: mc was parsed from the dsn key).
func (k TLS) Apply(mc *mysql.Config, fromDSN bool) []string {
	var keys []string
	if k.Files.CA != "" {
		keys = append(keys, "ssl_ca")
	}
	if k.Files.Cert != "" {
		keys = append(keys, "ssl_cert")
	}
	if k.Files.Key != "" {
		keys = append(keys, "ssl_key")
	}
	if k.SkipVerify {
		keys = append(keys, "ssl_skip_verify")
	}
	if k.SSL == "false" && len(keys) > 0 {
		return []string{fmt.Sprintf("ssl is false, but %s is set: set ssl to true to connect with TLS, or remove %s", strings.Join(keys, ", "), strings.Join(keys, ", "))}
	}
	if k.SSL != "" {
		keys = append([]string{"ssl"}, keys...)
	}
	if fromDSN && mc.TLSConfig != "" && len(keys) > 0 {
		return []string{fmt.Sprintf("dsn has tls=%s and %s is set too: give TLS in one place (the ssl keys without tls in the dsn, or the dsn's tls parameter alone)", mc.TLSConfig, strings.Join(keys, ", "))}
	}
	if len(keys) == 0 || k.SSL == "false" {
		return nil // plaintext, or the dsn's own tls parameter
	}
	host, _, err := net.SplitHostPort(mc.Addr)
	if err != nil {
		host = mc.Addr
	}
	tc, problems := TLSConfig(host, k.Files, k.SkipVerify)
	if len(problems) > 0 {
		return problems
	}
	// Set directly (not registered by name): the tap's binlog client reads
	// the same *tls.Config.
	mc.TLS = tc
	mc.AllowFallbackToPlaintext = k.SSL == "preferred"
	return nil
}

// Problem explains a connection refused for TLS reasons the config can
// fix ("" for any other error): a server certificate the configured CAs do
// not vouch for, or a server that requires TLS from a client that did not
// ask for it. mc is the config the connection used.
func (k TLS) Problem(err error, mc *mysql.Config) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	cas := "ssl_ca"
	if k.Files.CA == "" {
		cas = "the system's trust store"
	}
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("TLS: the server's certificate is not signed by a CA of %s (%v): set ssl_ca to the CA that signed it", cas, unknown)
	case errors.As(err, &host):
		return fmt.Sprintf("TLS: the server's certificate does not name the host (%v): connect by a name the certificate holds, or set ssl_skip_verify (not for production)", host)
	case errors.As(err, &invalid):
		return fmt.Sprintf("TLS: the server's certificate is not valid (%v): renew it on the server", invalid)
	}
	var me *mysql.MySQLError
	if mc.TLS == nil && errors.As(err, &me) && (me.Number == 3159 || me.Number == 4036 || strings.Contains(me.Message, "insecure transport")) {
		return "the server requires TLS (require_secure_transport): set ssl to true and ssl_ca to the CA of its certificate"
	}
	return ""
}
