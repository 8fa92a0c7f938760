package bigquery

import (
	"fmt"
	"os"
	"strings"
	"sync"

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
	// (host:port); with it and no credentials_path the connection is
	// plain gRPC without credentials (an emulator).
	StorageAPIEndpoint string `json:"storage_api_endpoint"`
	Method             string `json:"method"`
	// ObjectColumns is how objects and arrays land: json (default) or
	// record (RECORD and REPEATED columns, record.go).
	ObjectColumns string                  `json:"object_columns"`
	Streams       map[string]StreamConfig `json:"streams"`
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
	if c.CredentialsPath != "" {
		if p := checkCredentials(c.CredentialsPath); p != "" {
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

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// clientOptions: credentials_path, or without it application default
// credentials; an api_endpoint without credentials (an emulator) sends no
// credentials at all.
func (c *Config) clientOptions() []option.ClientOption {
	var opts []option.ClientOption
	if c.APIEndpoint != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimRight(c.APIEndpoint, "/")))
	}
	switch {
	case c.CredentialsPath != "":
		opts = append(opts, option.WithCredentialsFile(c.CredentialsPath))
	case c.APIEndpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	}
	return opts
}

// storageOptions are the Storage Write client's options: the configured
// endpoint (plain gRPC without credentials when there is no
// credentials_path: an emulator), else BigQuery's with the credentials.
func (c *Config) storageOptions() ([]option.ClientOption, error) {
	var opts []option.ClientOption
	if c.StorageAPIEndpoint != "" {
		ep := storageEndpoint(c.StorageAPIEndpoint)
		if c.CredentialsPath == "" {
			conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, fmt.Errorf("storage_api_endpoint %s: %w", c.StorageAPIEndpoint, err)
			}
			return []option.ClientOption{option.WithGRPCConn(conn), option.WithEndpoint(ep), option.WithoutAuthentication()}, nil
		}
		opts = append(opts, option.WithEndpoint(ep))
	}
	if c.CredentialsPath != "" {
		opts = append(opts, option.WithCredentialsFile(c.CredentialsPath))
	}
	return opts, nil
}
