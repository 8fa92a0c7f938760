package streammap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
)

// benchInput is a narrow stream like singer gen --shape flat.
func benchInput(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"},"customer":{"type":["null","string"]},"email":{"type":["null","string"]},"city":{"type":["null","string"]},"quantity":{"type":["null","integer"]},"amount":{"type":["null","number"]},"updated_at":{"type":["null","string"],"format":"date-time"}}},"key_properties":["id"]}` + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"type":"RECORD","stream":"orders","record":{"id":%d,"customer":"Grace Lamarr","email":"glamarr%d@ex.net","city":"Porto","quantity":%d,"amount":69.333,"updated_at":"2024-01-01T00:00:01Z"}}`+"\n", i, i, i%30)
	}
	return b.Bytes()
}

// BenchmarkMap: the bench's maps (one hash, one drop, one rename) and a
// filter; records/s is b.N*1000 / elapsed.
func BenchmarkMap(b *testing.B) {
	in := benchInput(20000)
	var maps map[string]any
	_ = json.Unmarshal([]byte(`{"orders":{"email":"sha256(email)","city":null,"buyer":"customer","customer":null,"__filter__":"quantity > 2"}}`), &maps)
	m, err := Compile(Settings{StreamMaps: maps})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.streams = map[string]*inputStream{}
		if err := m.Run(context.Background(), bytes.NewReader(in), io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReader: the target side, the same maps over a Reader.
func BenchmarkReader(b *testing.B) {
	in := benchInput(20000)
	var maps map[string]any
	_ = json.Unmarshal([]byte(`{"orders":{"email":"sha256(email)","city":null,"buyer":"customer","customer":null,"__filter__":"id >= 0"}}`), &maps)
	m, err := Compile(Settings{StreamMaps: maps})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.streams = map[string]*inputStream{}
		if _, err := io.Copy(io.Discard, m.NewReader(bytes.NewReader(in), nil)); err != nil {
			b.Fatal(err)
		}
	}
}
