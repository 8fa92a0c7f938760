package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is what growPipe asks for: Linux's default limit for an
// unprivileged process (/proc/sys/fs/pipe-max-size).
const pipeSize = 1 << 20

// growPipe raises the buffer of a pipe between a tap and a target from
// Linux's 64 KB to pipeSize, when f is a pipe and the buffer is smaller: a
// 64 KB pipe makes the tap and the target take turns every 64 KB, and
// each turn is a wake-up and a pair of system calls on both sides. Either
// end may grow it; a failure (a lower limit) leaves the pipe as it is.
func growPipe(f any) {
	file, ok := f.(*os.File)
	if !ok {
		return
	}
	if fi, err := file.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	rc, err := file.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		if n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && n < pipeSize {
			_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize)
		}
	})
}
