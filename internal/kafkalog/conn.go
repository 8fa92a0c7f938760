package kafkalog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Conn is the connection part of target-kafka's and tap-kafka's config.
type Conn struct {
	// Brokers are the seed brokers (host:port).
	Brokers []string `json:"brokers"`
	// Topic is the log's topic (one partition).
	Topic string `json:"topic"`
	// SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 ("" for none).
	SASLMechanism string `json:"sasl_mechanism"`
	SASLUsername  string `json:"sasl_username"`
	SASLPassword  string `json:"sasl_password"`
	// TLS turns TLS on; the files add a private CA and a client certificate.
	TLS         bool   `json:"tls"`
	TLSCAFile   string `json:"tls_ca_file"`
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`
	// CertKeyPrefix prefixes the names of tls_cert_file and tls_key_file
	// in messages, for a config that names them otherwise ("kafka_" in
	// singer gate's).
	CertKeyPrefix string `json:"-"`
	// ConnectTimeoutSeconds bounds each dial.
	ConnectTimeoutSeconds int `json:"connect_timeout_seconds"`
}

// DefaultConn returns the defaults of the connection settings.
func DefaultConn() Conn { return Conn{ConnectTimeoutSeconds: 10} }

var topicName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// Check returns the problems of the settings, all at once.
func (c *Conn) Check() []string {
	var p []string
	if len(c.Brokers) == 0 {
		p = append(p, `brokers: is required (e.g. ["127.0.0.1:9092"])`)
	}
	if !topicName.MatchString(c.Topic) {
		p = append(p, fmt.Sprintf("topic: %q is not a Kafka topic name (letters, digits, '.', '-' and '_', 1 to 200 of them)", c.Topic))
	}
	switch c.SASLMechanism {
	case "":
		if c.SASLUsername != "" || c.SASLPassword != "" {
			p = append(p, "sasl_username/sasl_password: need sasl_mechanism")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.SASLUsername == "" {
			p = append(p, "sasl_username: is required with sasl_mechanism")
		}
	default:
		p = append(p, fmt.Sprintf(`sasl_mechanism: %q is none of "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"`, c.SASLMechanism))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		p = append(p, c.CertKeyPrefix+"tls_cert_file and "+c.CertKeyPrefix+"tls_key_file: give both or neither")
	}
	if c.ConnectTimeoutSeconds < 1 {
		p = append(p, "connect_timeout_seconds: must be at least 1")
	}
	return p
}

// SchemaTopic is the compacted topic of a topic's schemas.
func (c *Conn) SchemaTopic() string { return c.Topic + "_schemas" }

// options returns the client options of the connection settings.
func (c *Conn) options(name string) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(name),
		kgo.DialTimeout(time.Duration(c.ConnectTimeoutSeconds) * time.Second),
	}
	switch c.SASLMechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASLUsername, Pass: c.SASLPassword}.AsSha512Mechanism()))
	}
	if c.TLS || c.TLSCAFile != "" || c.TLSCertFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, &config.Error{Problems: []string{"tls_ca_file: " + err.Error()}}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &config.Error{Problems: []string{"tls_ca_file: " + c.TLSCAFile + " holds no PEM certificate"}}
			}
			cfg.RootCAs = pool
		}
		if c.TLSCertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
			if err != nil {
				return nil, &config.Error{Problems: []string{c.CertKeyPrefix + "tls_cert_file/" + c.CertKeyPrefix + "tls_key_file: " + err.Error()}}
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	return opts, nil
}

// ConnectError is a broker that cannot be reached or refuses the login
// (exit 1: a retry may get past it).
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// missingTopicError is a topic that does not exist (exit 2).
type missingTopicError struct{ topic string }

func (e *missingTopicError) Error() string {
	return fmt.Sprintf("topic %q does not exist on the Kafka cluster: check topic, or let target-kafka create it (create_if_missing)", e.topic)
}
func (e *missingTopicError) ExitCode() int { return cli.ExitUsage }

// partitionsError is a topic of more than one partition (exit 2): the log
// keeps its order only in one.
type partitionsError struct {
	topic string
	n     int
}

func (e *partitionsError) Error() string {
	return fmt.Sprintf("topic %q has %d partitions: a Singer log needs exactly 1 (the order of its messages is the order of one partition); use a topic per source", e.topic, e.n)
}
func (e *partitionsError) ExitCode() int { return cli.ExitUsage }

// checkTopic finds the topic and checks it has one partition.
func checkTopic(ctx context.Context, adm *kadm.Client, topic string, brokers []string) (exists bool, err error) {
	ds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return false, &ConnectError{fmt.Errorf("cannot reach Kafka at %s: %v", strings.Join(brokers, ","), err)}
	}
	d, ok := ds[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return false, nil
	}
	if d.Err != nil {
		return false, fmt.Errorf("topic %q: %w", topic, d.Err)
	}
	if len(d.Partitions) != 1 {
		return true, &partitionsError{topic, len(d.Partitions)}
	}
	return true, nil
}
