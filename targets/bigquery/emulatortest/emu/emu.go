// Package emu runs the goccy/bigquery-emulator with both of its APIs on
// TCP listeners, for target-bigquery's tests and benchmark.
//
// The emulator serialises its REST requests but not its Storage Write API
// calls, and both write to one SQLite database: concurrent use fails with
// "database is locked". emu puts one lock around both: the REST handler,
// and a gRPC front that forwards every Storage Write call to the
// emulator's own (in-memory) gRPC server while holding the lock.
//
// The front also names the write stream on every AppendRows request: the
// client names it on a connection's first request only, and the emulator
// takes a request without a name for any of its streams.
//
// With Sink set, the Storage Write front does not forward: it answers
// every call as BigQuery would and throws the rows away, counting them.
// That measures the client alone (encoding and sending), with the
// emulator's row decoding and SQLite inserts out of the way.
package emu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/goccy/bigquery-emulator/server"
	"github.com/goccy/bigquery-emulator/types"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Emulator is a running emulator.
type Emulator struct {
	URL      string // REST API, http://host:port
	GRPCAddr string // Storage Write API, host:port

	// Sunk counts what a sink received: rows and serialized row bytes.
	SunkRows, SunkBytes atomic.Int64

	srv     *server.Server
	ts      *server.TestServer
	conn    *grpc.ClientConn
	httpSrv *http.Server
	grpcSrv *grpc.Server
	mu      sync.Mutex
}

// Start starts an emulator with one project, listening on addresses of
// the form host:port (port 0: any free port).
func Start(project, httpAddr, grpcAddr string, sink bool) (*Emulator, error) {
	srv, err := server.New(server.TempStorage)
	if err != nil {
		return nil, err
	}
	if err := srv.Load(server.StructSource(types.NewProject(project))); err != nil {
		return nil, err
	}
	e := &Emulator{srv: srv, ts: srv.TestServer()}
	e.conn, err = e.ts.GRPCDial(context.Background())
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return nil, err
	}
	gl, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		hl.Close()
		return nil, err
	}
	e.URL, e.GRPCAddr = "http://"+hl.Addr().String(), gl.Addr().String()
	// The emulator names its resumable-upload URLs after the address of
	// the http.Server it knows (TestServer's): make that this listener.
	e.ts.Config.Addr = hl.Addr().String()
	e.httpSrv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		srv.Handler.ServeHTTP(w, r)
	})}
	e.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	var ws storagepb.BigQueryWriteServer = &front{e: e, up: storagepb.NewBigQueryWriteClient(e.conn)}
	if sink {
		ws = &sinkServer{e: e, streams: map[string]*sinkStream{}}
	}
	storagepb.RegisterBigQueryWriteServer(e.grpcSrv, ws)
	go e.httpSrv.Serve(hl)
	go e.grpcSrv.Serve(gl)
	return e, nil
}

// Close stops the emulator.
func (e *Emulator) Close() {
	e.grpcSrv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.httpSrv.Shutdown(ctx)
	e.conn.Close()
	e.ts.Close()
	e.srv.Close()
}

// front forwards Storage Write calls to the emulator under the lock.
type front struct {
	storagepb.UnimplementedBigQueryWriteServer
	e  *Emulator
	up storagepb.BigQueryWriteClient
}

func (f *front) CreateWriteStream(ctx context.Context, r *storagepb.CreateWriteStreamRequest) (*storagepb.WriteStream, error) {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return f.up.CreateWriteStream(ctx, r)
}

func (f *front) GetWriteStream(ctx context.Context, r *storagepb.GetWriteStreamRequest) (*storagepb.WriteStream, error) {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return f.up.GetWriteStream(ctx, r)
}

func (f *front) FinalizeWriteStream(ctx context.Context, r *storagepb.FinalizeWriteStreamRequest) (*storagepb.FinalizeWriteStreamResponse, error) {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return f.up.FinalizeWriteStream(ctx, r)
}

func (f *front) BatchCommitWriteStreams(ctx context.Context, r *storagepb.BatchCommitWriteStreamsRequest) (*storagepb.BatchCommitWriteStreamsResponse, error) {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return f.up.BatchCommitWriteStreams(ctx, r)
}

func (f *front) FlushRows(ctx context.Context, r *storagepb.FlushRowsRequest) (*storagepb.FlushRowsResponse, error) {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	return f.up.FlushRows(ctx, r)
}

// AppendRows forwards each request and its answer in turn.
func (f *front) AppendRows(s storagepb.BigQueryWrite_AppendRowsServer) error {
	ctx, cancel := context.WithCancel(s.Context())
	defer cancel()
	up, err := f.up.AppendRows(ctx)
	if err != nil {
		return err
	}
	defer up.CloseSend()
	name := ""
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		// Clients name the stream on a connection's first request only;
		// the emulator takes a request without a name for any stream it
		// knows. Name every request.
		if req.GetWriteStream() != "" {
			name = req.GetWriteStream()
		} else {
			req.WriteStream = name
		}
		f.e.mu.Lock()
		err = up.Send(req)
		var resp *storagepb.AppendRowsResponse
		if err == nil {
			resp, err = up.Recv()
		}
		f.e.mu.Unlock()
		if err != nil {
			return err
		}
		if err := s.Send(resp); err != nil {
			return err
		}
	}
}

// sinkServer accepts rows and drops them.
type sinkServer struct {
	storagepb.UnimplementedBigQueryWriteServer
	e       *Emulator
	mu      sync.Mutex
	seq     int
	streams map[string]*sinkStream
}

type sinkStream struct {
	ws   *storagepb.WriteStream
	rows int64
}

func (k *sinkServer) CreateWriteStream(ctx context.Context, r *storagepb.CreateWriteStreamRequest) (*storagepb.WriteStream, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seq++
	ws := &storagepb.WriteStream{
		Name:       fmt.Sprintf("%s/streams/sink%d", r.GetParent(), k.seq),
		Type:       r.GetWriteStream().GetType(),
		CreateTime: timestamppb.Now(),
		WriteMode:  storagepb.WriteStream_INSERT,
	}
	k.streams[ws.Name] = &sinkStream{ws: ws}
	return ws, nil
}

func (k *sinkServer) stream(name string) (*sinkStream, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := k.streams[name]
	if st == nil {
		return nil, fmt.Errorf("no stream %s", name)
	}
	return st, nil
}

func (k *sinkServer) GetWriteStream(ctx context.Context, r *storagepb.GetWriteStreamRequest) (*storagepb.WriteStream, error) {
	st, err := k.stream(r.GetName())
	if err != nil {
		return nil, err
	}
	return st.ws, nil
}

func (k *sinkServer) FinalizeWriteStream(ctx context.Context, r *storagepb.FinalizeWriteStreamRequest) (*storagepb.FinalizeWriteStreamResponse, error) {
	st, err := k.stream(r.GetName())
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return &storagepb.FinalizeWriteStreamResponse{RowCount: st.rows}, nil
}

func (k *sinkServer) BatchCommitWriteStreams(ctx context.Context, r *storagepb.BatchCommitWriteStreamsRequest) (*storagepb.BatchCommitWriteStreamsResponse, error) {
	return &storagepb.BatchCommitWriteStreamsResponse{CommitTime: timestamppb.Now()}, nil
}

func (k *sinkServer) AppendRows(s storagepb.BigQueryWrite_AppendRowsServer) error {
	name := ""
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if req.GetWriteStream() != "" {
			name = req.GetWriteStream()
		}
		st, err := k.stream(name)
		if err != nil {
			return err
		}
		rows := req.GetProtoRows().GetRows().GetSerializedRows()
		var n int64
		for _, r := range rows {
			n += int64(len(r))
		}
		k.e.SunkRows.Add(int64(len(rows)))
		k.e.SunkBytes.Add(n)
		k.mu.Lock()
		off := st.rows
		st.rows += int64(len(rows))
		k.mu.Unlock()
		err = s.Send(&storagepb.AppendRowsResponse{
			WriteStream: name,
			Response:    &storagepb.AppendRowsResponse_AppendResult_{AppendResult: &storagepb.AppendRowsResponse_AppendResult{Offset: wrapperspb.Int64(off)}},
		})
		if err != nil {
			return err
		}
	}
}
