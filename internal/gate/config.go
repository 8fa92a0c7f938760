package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/internal/kafkalog"
	"github.com/singerkit/singerkit/internal/natslog"
	"github.com/singerkit/singerkit/schemas"
)

// Config is singer gate's config (schemas/singer-gate.config.json).
type Config struct {
	Listen      string `json:"listen"`
	TLSCertFile string `json:"tls_cert_file"`
	TLSKeyFile  string `json:"tls_key_file"`

	Servers               []string `json:"servers"`
	CredsFile             string   `json:"creds_file"`
	NKeySeedFile          string   `json:"nkey_seed_file"`
	User                  string   `json:"user"`
	Password              string   `json:"password"`
	Token                 string   `json:"token"`
	TLSCAFile             string   `json:"tls_ca_file"`
	NATSTLSCertFile       string   `json:"nats_tls_cert_file"`
	NATSTLSKeyFile        string   `json:"nats_tls_key_file"`
	ConnectTimeoutSeconds int      `json:"connect_timeout_seconds"`

	Brokers       []string `json:"brokers"`
	SASLMechanism string   `json:"sasl_mechanism"`
	SASLUsername  string   `json:"sasl_username"`
	SASLPassword  string   `json:"sasl_password"`
	KafkaTLS      bool     `json:"kafka_tls"`
	KafkaTLSCert  string   `json:"kafka_tls_cert_file"`
	KafkaTLSKey   string   `json:"kafka_tls_key_file"`

	DataDir        string `json:"data_dir"`
	EmbeddedListen string `json:"embedded_listen"`

	ImportTopic            string `json:"import_topic"`
	Replicas               int    `json:"replicas"`
	Storage                string `json:"storage"`
	DuplicateWindowSeconds int    `json:"duplicate_window_seconds"`
	PublishTimeoutSeconds  int    `json:"publish_timeout_seconds"`
	MaxMessageBytes        int    `json:"max_message_bytes"`

	MaxRequestBytes        int64   `json:"max_request_bytes"`
	MaxRecords             int     `json:"max_records"`
	RequestsPerSecond      float64 `json:"requests_per_second"`
	Burst                  int     `json:"burst"`
	ShutdownTimeoutSeconds int     `json:"shutdown_timeout_seconds"`

	Tokens []TokenConfig `json:"tokens"`
	Tables []TableConfig `json:"tables"`
}

// TokenConfig is one bearer token and its grant.
type TokenConfig struct {
	Name              string   `json:"name"`
	TokenSHA256       string   `json:"token_sha256"`
	TokenEnv          string   `json:"token_env"`
	Topic             string   `json:"topic"`
	Topics            []string `json:"topics"`
	Tables            []string `json:"tables"`
	MaxRequestBytes   int64    `json:"max_request_bytes"`
	RequestsPerSecond *float64 `json:"requests_per_second"`
	Burst             int      `json:"burst"`
}

// TableConfig declares a table's schema.
type TableConfig struct {
	Name     string          `json:"name"`
	Topic    string          `json:"topic"`
	Schema   json.RawMessage `json:"schema"`
	KeyNames []string        `json:"key_names"`
}

// EnvToken is the environment variable of a token that may write
// everything.
const EnvToken = "SINGER_GATE_TOKEN"

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Listen:                 "127.0.0.1:8080",
		ConnectTimeoutSeconds:  10,
		EmbeddedListen:         "127.0.0.1:4222",
		ImportTopic:            "import",
		Replicas:               1,
		Storage:                "file",
		DuplicateWindowSeconds: 600,
		PublishTimeoutSeconds:  10,
		MaxMessageBytes:        900_000,
		MaxRequestBytes:        20 << 20,
		MaxRecords:             20_000,
		Burst:                  100,
		ShutdownTimeoutSeconds: 30,
	}
}

// LoadConfig reads the config files (none: the defaults) and checks them,
// every problem at once.
func LoadConfig(paths []string) (*Config, error) {
	c := DefaultConfig()
	if len(paths) > 0 {
		raw, err := config.Load(paths, schemas.Get("singer-gate.config.json"))
		if err != nil {
			return nil, err
		}
		if err := raw.Decode(&c); err != nil {
			return nil, err
		}
	}
	if p := c.check(); len(p) > 0 {
		return nil, &config.Error{Problems: p}
	}
	return &c, nil
}

func (c *Config) check() []string {
	var p []string
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		p = append(p, "tls_cert_file and tls_key_file: give both or neither")
	}
	if len(c.Servers) > 0 && len(c.Brokers) > 0 {
		p = append(p, "servers and brokers: give one of them (servers: NATS JetStream, brokers: Kafka)")
	}
	if len(c.Brokers) == 0 && (c.KafkaTLSCert != "" || c.KafkaTLSKey != "" || c.KafkaTLS) {
		p = append(p, "kafka_tls, kafka_tls_cert_file, kafka_tls_key_file: only with brokers (Kafka); for NATS servers give nats_tls_cert_file and nats_tls_key_file")
	}
	if len(c.Brokers) > 0 {
		conn := c.KafkaConn()
		conn.Topic = "x" // each request names its topic
		p = append(p, conn.Check()...)
	}
	if len(c.Servers) > 0 {
		conn := c.Conn()
		conn.Topic = "x" // each request names its topic
		p = append(p, conn.Check()...)
	}
	names := map[string]bool{}
	for i, t := range c.Tokens {
		where := fmt.Sprintf("tokens[%d] (%s)", i, t.Name)
		if names[t.Name] {
			p = append(p, where+": a second token of that name")
		}
		names[t.Name] = true
		if (t.TokenSHA256 == "") == (t.TokenEnv == "") {
			p = append(p, where+": give token_sha256 or token_env (one of them)")
		}
	}
	seen := map[string]bool{}
	cache := newSchemaCache()
	for i, t := range c.Tables {
		k := t.Topic + "\x00" + t.Name
		if seen[k] {
			p = append(p, fmt.Sprintf("tables[%d]: table %q is declared twice", i, t.Name))
		}
		seen[k] = true
		// A declared schema that cannot validate anything is found now,
		// not by the first request that needs it.
		if _, err := cache.get(t.Name, t.Schema, t.KeyNames); err != nil {
			p = append(p, fmt.Sprintf("tables[%d] (%s): %v", i, t.Name, err))
		}
	}
	return p
}

// KafkaConn is the Kafka connection part of the config.
func (c *Config) KafkaConn() kafkalog.Conn {
	return kafkalog.Conn{
		Brokers: c.Brokers, SASLMechanism: c.SASLMechanism, SASLUsername: c.SASLUsername, SASLPassword: c.SASLPassword,
		TLS: c.KafkaTLS, TLSCAFile: c.TLSCAFile, TLSCertFile: c.KafkaTLSCert, TLSKeyFile: c.KafkaTLSKey, CertKeyPrefix: "kafka_",
		ConnectTimeoutSeconds: c.ConnectTimeoutSeconds,
	}
}

// Conn is the NATS connection part of the config.
func (c *Config) Conn() natslog.Conn {
	return natslog.Conn{
		Servers: c.Servers, CredsFile: c.CredsFile, NKeySeedFile: c.NKeySeedFile,
		User: c.User, Password: c.Password, Token: c.Token,
		TLSCAFile: c.TLSCAFile, TLSCertFile: c.NATSTLSCertFile, TLSKeyFile: c.NATSTLSKeyFile,
		ConnectTimeoutSeconds: c.ConnectTimeoutSeconds,
	}
}

// tokens resolves the configured tokens to hashed grants: token_env is
// read and hashed, its value not kept. lookup is os.LookupEnv in the
// binary.
func (c *Config) tokens(lookup func(string) (string, bool)) ([]*grant, error) {
	var out []*grant
	var problems []string
	for _, t := range c.Tokens {
		g := &grant{
			name:     t.Name,
			topic:    t.Topic,
			topics:   t.Topics,
			tables:   t.Tables,
			maxBytes: t.MaxRequestBytes,
			rate:     c.RequestsPerSecond,
			burst:    t.Burst,
		}
		if t.RequestsPerSecond != nil {
			g.rate = *t.RequestsPerSecond
		}
		switch {
		case t.TokenSHA256 != "":
			b, _ := hex.DecodeString(strings.ToLower(t.TokenSHA256))
			copy(g.hash[:], b)
		default:
			v, ok := lookup(t.TokenEnv)
			if !ok || v == "" {
				problems = append(problems, fmt.Sprintf("token %q: environment variable %s is not set", t.Name, t.TokenEnv))
				continue
			}
			g.hash = sha256.Sum256([]byte(v))
		}
		out = append(out, g)
	}
	if v, ok := lookup(EnvToken); ok && v != "" {
		out = append(out, &grant{name: "env", topics: []string{"*"}, tables: []string{"*"}, rate: c.RequestsPerSecond, hash: sha256.Sum256([]byte(v))})
	}
	if len(problems) > 0 {
		return nil, &config.Error{Problems: problems}
	}
	if len(out) == 0 {
		return nil, &config.Error{Problems: []string{"no token may write: set " + EnvToken + " or list tokens in the config (token_sha256 or token_env)"}}
	}
	for _, g := range out {
		if g.topic == "" {
			g.topic = c.ImportTopic
		}
		if len(g.topics) == 0 {
			g.topics = []string{g.topic}
		}
		if len(g.tables) == 0 {
			g.tables = []string{"*"}
		}
		if g.maxBytes == 0 {
			g.maxBytes = c.MaxRequestBytes
		}
		if g.burst == 0 {
			g.burst = c.Burst
		}
	}
	return out, nil
}
