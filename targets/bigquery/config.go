package bigquery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"cloud.google.com/go/bigquery"

	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/targets/sqltarget"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Config is target-bigquery's config: where the data goes, how it gets
// there, and the engine's keys.
type Config struct {
	sqltarget.Config
	Project         string `json:"project"`
	Dataset         string `json:"dataset"`
	Location        string `json:"location"`
	CredentialsPath string `json:"credentials_path"`
	APIEndpoint     string `json:"api_endpoint"`
	// StorageAPIEndpoint is the Storage Write API's gRPC endpoint
	// (host:port), over TLS with credentials unless Emulator is set.
	StorageAPIEndpoint string `json:"storage_api_endpoint"`
	// Emulator connects to the endpoints without credentials, and to
	// storage_api_endpoint in plaintext gRPC: a local emulator only. It
	// is never implied by an endpoint.
	Emulator bool   `json:"emulator"`
	Method   string `json:"method"`
	// ObjectColumns is how objects and arrays land: json (default) or
	// record (RECORD and REPEATED columns, record.go).
	ObjectColumns string                  `json:"object_columns"`
	Streams       map[string]StreamConfig `json:"streams"`
}

// Resolve applies the defaults the target runs with (dataset is the
// default target schema) and returns every problem of the config at once.
func (c *Config) Resolve() error {
	if c.DefaultTargetSchema == "" {
		c.DefaultTargetSchema = c.Dataset
	}
	if p := c.check(); len(p) > 0 {
		return &config.Error{Problems: p}
	}
	return nil
}

// NewClient opens a BigQuery client with the config's connection settings
// (endpoint, credentials or emulator, location), as the target connects;
// a tool that reads what the target loaded (singer canary) uses it too.
func (c *Config) NewClient(ctx context.Context) (*bigquery.Client, error) {
	copts, err := c.clientOptions()
	if err != nil {
		return nil, err
	}
	client, err := bigquery.NewClient(ctx, c.Project, copts...)
	if err != nil {
		return nil, fmt.Errorf("creating the BigQuery client: %w", err)
	}
	if c.Location != "" {
		client.Location = c.Location
	}
	return client, nil
}

// method is the method in effect: storage_write by default, except with an
// api_endpoint (an emulator or private endpoint) but no
// storage_api_endpoint, where the Storage API's address is unknown and
// batch_job is the default.
func (c *Config) method() string {
	switch {
	case c.Method != "":
		return c.Method
	case c.APIEndpoint != "" && c.StorageAPIEndpoint == "":
		return MethodBatchJob
	}
	return MethodStorageWrite
}

// Methods of loading.
const (
	MethodBatchJob     = "batch_job"
	MethodStorageWrite = "storage_write"
)

// check returns every problem of the config at once.
func (c *Config) check() []string {
	var problems []string
	if c.Project == "" {
		problems = append(problems, "project is required")
	}
	if c.Dataset == "" && c.DefaultTargetSchema == "" {
		problems = append(problems, "dataset is required")
	}
	switch c.Method {
	case "", MethodBatchJob:
	case MethodStorageWrite:
		if c.APIEndpoint != "" && c.StorageAPIEndpoint == "" {
			problems = append(problems, "method storage_write with an api_endpoint needs storage_api_endpoint too (the Storage Write API's gRPC host:port), or use method batch_job")
		}
	default:
		problems = append(problems, fmt.Sprintf("method must be storage_write or batch_job, not %q", c.Method))
	}
	for _, ds := range c.datasets() {
		if !validDataset(ds) {
			problems = append(problems, fmt.Sprintf("dataset %q is not a valid BigQuery dataset name (letters, digits and underscores, at most 1024)", ds))
		}
	}
	switch c.ObjectColumns {
	case "", ObjectColumnsJSON, ObjectColumnsRecord:
	default:
		problems = append(problems, fmt.Sprintf("object_columns must be json or record, not %q", c.ObjectColumns))
	}
	problems = append(problems, checkStreams(c.Streams)...)
	problems = append(problems, c.checkTransport()...)
	return problems
}

// checkTransport: credentials and encryption are never dropped because an
// endpoint is set. Without credentials and in plaintext only with
// emulator: true, and then never with credentials (they would travel in
// clear to whatever answers).
func (c *Config) checkTransport() []string {
	var problems []string
	if c.Emulator {
		if c.APIEndpoint == "" {
			problems = append(problems, "emulator: true needs api_endpoint (the emulator's REST address, such as http://127.0.0.1:9050)")
		}
		if c.CredentialsPath != "" {
			problems = append(problems, "emulator: true sends no credentials and uses plaintext gRPC: remove credentials_path, or remove emulator to connect with credentials over TLS")
		}
		return problems
	}
	if strings.HasPrefix(strings.ToLower(c.APIEndpoint), "http://") {
		problems = append(problems, fmt.Sprintf("api_endpoint %s is plain HTTP: credentials would travel in clear; use an https endpoint, or set emulator: true for a local emulator (no credentials)", c.APIEndpoint))
	}
	if strings.HasPrefix(strings.ToLower(c.StorageAPIEndpoint), "http://") {
		problems = append(problems, fmt.Sprintf("storage_api_endpoint %s is plain HTTP: the Storage Write API is reached over TLS with credentials; give host:port, or set emulator: true for a local emulator (no credentials)", c.StorageAPIEndpoint))
	}
	if c.CredentialsPath != "" {
		if _, p := checkCredentials(c.CredentialsPath); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

func (c *Config) tableOptions() tableOptions {
	return tableOptions{record: c.ObjectColumns == ObjectColumnsRecord, streams: c.Streams, seen: &sync.Map{}}
}

func (c *Config) datasets() []string {
	var out []string
	if c.DefaultTargetSchema != "" {
		out = append(out, c.DefaultTargetSchema)
	}
	for _, m := range c.SchemaMapping {
		out = append(out, m.TargetSchema)
	}
	return out
}

func validDataset(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// credentials: credentials_path loaded as the credentials type the file
// declares (option.WithAuthCredentialsFile, which refuses a file of
// another type), or none: the client then finds application default
// credentials itself.
func (c *Config) credentials() ([]option.ClientOption, error) {
	if c.CredentialsPath == "" {
		return nil, nil
	}
	typ, problem := checkCredentials(c.CredentialsPath)
	if problem != "" {
		return nil, errors.New(problem)
	}
	return []option.ClientOption{option.WithAuthCredentialsFile(typ, c.CredentialsPath)}, nil
}

// clientOptions: the endpoint if any, with credentials_path or application
// default credentials; with emulator, no credentials at all.
func (c *Config) clientOptions() ([]option.ClientOption, error) {
	var opts []option.ClientOption
	if c.APIEndpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(c.APIEndpoint, "/")))
	}
	if c.Emulator {
		return append(opts, option.WithoutAuthentication()), nil
	}
	creds, err := c.credentials()
	return append(opts, creds...), err
}

// storageOptions are the Storage Write client's options: the configured
// endpoint or BigQuery's, over TLS with the credentials; with emulator,
// plaintext gRPC without credentials.
func (c *Config) storageOptions() ([]option.ClientOption, error) {
	var opts []option.ClientOption
	if c.StorageAPIEndpoint != "" {
		ep := storageEndpoint(c.StorageAPIEndpoint)
		if c.Emulator {
			conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, fmt.Errorf("storage_api_endpoint %s: %w", c.StorageAPIEndpoint, err)
			}
			return []option.ClientOption{option.WithGRPCConn(conn), option.WithEndpoint(ep), option.WithoutAuthentication()}, nil
		}
		opts = append(opts, option.WithEndpoint(ep))
	}
	creds, err := c.credentials()
	return append(opts, creds...), err
}
