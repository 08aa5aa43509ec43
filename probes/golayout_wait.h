// SPDX-License-Identifier: GPL-2.0-only
/* The runtime's wait reasons (runtime2.go, waitReasonStrings) per minor version: the fallback
 * when a process's own table cannot be read. Extracted from the toolchains' sources. */
static const char *const wait_1_19[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait",
	"chan receive", "chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "timer goroutine (idle)", "trace reader (blocked)", "wait for GC cycle",
	"GC worker (idle)", "preempted", "debug call",
};
static const char *const wait_1_21[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait",
	"chan receive", "chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
	"trace reader (blocked)", "wait for GC cycle", "GC worker (idle)", "GC worker (active)",
	"preempted", "debug call", "GC mark termination", "stopping the world",
};
static const char *const wait_1_22[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait",
	"chan receive", "chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
	"trace reader (blocked)", "wait for GC cycle", "GC worker (idle)", "GC worker (active)",
	"preempted", "debug call", "GC mark termination", "stopping the world",
	"flushing proc caches", "trace goroutine status", "trace proc status", "page trace flush",
	"coroutine",
};
static const char *const wait_1_23[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait",
	"chan receive", "chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep",
	"sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock",
	"trace reader (blocked)", "wait for GC cycle", "GC worker (idle)", "GC worker (active)",
	"preempted", "debug call", "GC mark termination", "stopping the world",
	"flushing proc caches", "trace goroutine status", "trace proc status", "page trace flush",
	"coroutine", "GC weak to strong wait",
};

static const struct {
	unsigned minor;
	const char *const *names;
	unsigned n;
} wait_tables[] = {
	{ 19, wait_1_19, sizeof(wait_1_19) / sizeof(wait_1_19[0]) },
	{ 21, wait_1_21, sizeof(wait_1_21) / sizeof(wait_1_21[0]) },
	{ 22, wait_1_22, sizeof(wait_1_22) / sizeof(wait_1_22[0]) },
	{ 23, wait_1_23, sizeof(wait_1_23) / sizeof(wait_1_23[0]) },
};
