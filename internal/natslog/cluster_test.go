package natslog_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singerkit/singerkit/internal/cli"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/singerkit/singerkit/internal/testenv"
	natstarget "github.com/singerkit/singerkit/targets/nats"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type node struct {
	name string
	url  string
	cmd  *exec.Cmd
}

// startCluster starts a three-node JetStream cluster of the machine's
// nats-server on free loopback ports and waits until it answers JetStream
// requests.
func startCluster(t *testing.T) []*node {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		testenv.Missing(t, "nats-server is not installed (apt-get install nats-server)")
	}
	dir := t.TempDir()
	var clients, routes []int
	for i := 0; i < 3; i++ {
		clients = append(clients, freePort(t))
		routes = append(routes, freePort(t))
	}
	var nodes []*node
	for i := 0; i < 3; i++ {
		var rs []string
		for j, p := range routes {
			if j != i {
				rs = append(rs, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		name := fmt.Sprintf("n%d", i+1)
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster { name: testc, listen: 127.0.0.1:%d, routes: [%s] }
`, name, clients[i], filepath.Join(dir, name), routes[i], strings.Join(rs, ", "))
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", path)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &node{name: name, url: fmt.Sprintf("nats://127.0.0.1:%d", clients[i]), cmd: cmd}
		nodes = append(nodes, n)
		t.Cleanup(func() {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		})
	}
	// Ready when a stream of three replicas can be placed: the meta
	// leader is elected and knows every peer. (An account info request
	// succeeds a moment before that, and a topic created then is refused
	// with "no suitable peers for placement".)
	var last string
	testenv.WaitFor(t, "the cluster to place a stream of three replicas", func() bool {
		err := placeable(urls(nodes))
		if err != nil && err.Error() != last {
			last = err.Error()
			t.Logf("cluster not ready yet: %s", last)
		}
		return err == nil
	})
	return nodes
}

// placeable creates and deletes a stream of three replicas.
func placeable(urls []string) error {
	nc, err := natsConnect(urls)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cfg := jetstream.StreamConfig{Name: "READY", Subjects: []string{"ready"}, Replicas: 3, Storage: jetstream.MemoryStorage}
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		return err
	}
	return js.DeleteStream(ctx, "READY")
}

func urls(nodes []*node) []string {
	var u []string
	for _, n := range nodes {
		u = append(u, n.url)
	}
	return u
}

// TestClusterNodeKilledMidLoad: on a three-node cluster with replicas 3,
// the stream's leader is killed while target-nats publishes. The target
// carries on (re-sending what was not acknowledged, deduplicated), and
// afterwards every record before each echoed state is in the log, once.
func TestClusterNodeKilledMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	nodes := startCluster(t)
	topic := newTopic(t, urls(nodes)...)
	cfg := map[string]any{"servers": urls(nodes), "topic": topic, "replicas": 3, "max_in_flight": 200, "publish_timeout_seconds": 120}
	const n = 30000
	input, recs := records(n, 250)
	lines := strings.SplitAfter(input, "\n")

	pr, pw := io.Pipe()
	var out, stderr strings.Builder
	done := make(chan int, 1)
	args := []string{"--config", writeConfig(t, cfg)}
	go func() {
		code := cli.RunTarget(context.Background(), natstarget.Spec(), args, pr, &out, &stderr)
		// A target that stops early fails the test's next write (with
		// its stderr) instead of leaving it blocked on the pipe.
		pr.CloseWithError(fmt.Errorf("target-nats returned %d", code))
		done <- code
	}()
	js := jetStream(t, urls(nodes)...)
	killed := ""
	for i, l := range lines {
		if _, err := io.WriteString(pw, l); err != nil {
			t.Fatalf("target-nats stopped reading at line %d: %v\n%s", i+1, err, stderr.String())
		}
		if i == len(lines)/3 {
			// Kill the stream's leader in the middle of the load.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s, err := js.Stream(ctx, topic)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			leader := s.CachedInfo().Cluster.Leader
			for _, nd := range nodes {
				if nd.name == leader {
					if err := nd.cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					killed = leader
				}
			}
			if killed == "" {
				t.Fatalf("leader %q is none of the nodes", leader)
			}
		}
	}
	pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("target-nats exit %d:\n%s", code, stderr.String())
	}
	states := strings.Split(strings.TrimSpace(out.String()), "\n")
	if want := n / 250; len(states) != want {
		t.Errorf("%d states echoed, want %d", len(states), want)
	}

	// Read the log back through the two live nodes.
	var live []string
	for _, nd := range nodes {
		if nd.name != killed {
			live = append(live, nd.url)
		}
	}
	r := runTap(t, context.Background(), map[string]any{"servers": live, "topic": topic}, "")
	if r.code != 0 {
		t.Fatalf("tap-nats exit %d: %s", r.code, r.err)
	}
	seen := map[string]int{}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
		if strings.HasPrefix(l, `{"type":"RECORD"`) {
			seen[l]++
			got = append(got, l)
		}
	}
	for l, c := range seen {
		if c > 1 {
			t.Errorf("record %s is in the log %d times", l, c)
		}
	}
	// Every echoed state's records are there (the last state covers all).
	for i, rec := range recs {
		if seen[rec] != 1 {
			t.Fatalf("record %d missing from the log after an echoed state covered it", i+1)
		}
	}
	reordered := false
	for i := range got {
		if got[i] != recs[i] {
			reordered = true
			break
		}
	}
	if reordered && !strings.Contains(stderr.String(), "out of their original order") {
		t.Errorf("records out of order in the log without the warning that says so:\n%s", stderr.String())
	}
	t.Logf("killed %s; target-nats stderr:\n%s", killed, withoutMetrics(stderr.String()))
}
