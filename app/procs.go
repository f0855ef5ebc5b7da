package app

import (
	"os"
	"runtime"
	"sync"
)

// syncers is the number of goroutines that spend most of their time in
// fsync: the committers of the database and of the object store, and the
// writer of the audit log.
const syncers = 3

// defaultProcs is GOMAXPROCS as the runtime set it, read before TuneProcs
// first changes it.
var defaultProcs = sync.OnceValue(func() int { return runtime.GOMAXPROCS(0) })

// TuneProcs sets GOMAXPROCS to the runtime's default plus one for each
// syncer, unless the GOMAXPROCS environment variable sets it. A goroutine
// blocked in a system call keeps its P until the runtime's monitor hands
// the P on. On a 2-core machine the syncers then often hold the Ps that
// classification and request handling wait for. With the extra Ps,
// end-to-end processing ran 1.6 to 1.8 times faster and uploads 1.7 times
// faster on 2 cores (docs/benchmarks.md).
func TuneProcs() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if want := defaultProcs() + syncers; runtime.GOMAXPROCS(0) != want {
		runtime.GOMAXPROCS(want)
	}
}
