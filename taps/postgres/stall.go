package postgres

import (
	"errors"

	"github.com/singerkit/singerkit/internal/liveconn"
)

// Dead peers: every connection of the tap is dialed by liveconn, with TCP
// keepalives (a host that is gone) and a read deadline of
// read_timeout_seconds (a connection, proxy or server that stalled with
// the TCP connection up): a read that gets no byte for that long fails
// with a *liveconn.StallError and the run stops (exit 1). The replication
// stream asks the server for a reply more often than that, so a live,
// idle server is never taken for a stalled one.

func isStall(err error) bool {
	var se *liveconn.StallError
	return errors.As(err, &se)
}
