// SPDX-License-Identifier: GPL-2.0-only
/* /metrics: per-process totals folded from the ticks, immutable snapshots, rendering (metrics.h). */
#include <dirent.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"

#define DECAY 0.97        /* per tick: a score halves in ~23 s */
#define KEEP_BOOST 1.5    /* a function shown already stays unless another beats it by this */
#define GONE_TICKS 30     /* a process nothing named for this long is forgotten */
#define FNS_MAX 32768     /* functions kept in all; past it the least busy unshown go */
#define NO_SYMBOLS "(no symbols)"

const unsigned metrics_http_codes[METRICS_HTTP_CODES] = { 200, 400, 404, 405, 413,
							 414, 431, 500, 503 };

/* ---- label values ---- */

/* The length of the UTF-8 sequence at s (at most n bytes), 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t metrics_escape(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0, max = outlen - 4; /* room for "..." and the NUL */

	if (max > METRICS_LABEL_MAX)
		max = METRICS_LABEL_MAX;
	for (size_t i = 0; i < len;) {
		size_t l = utf8_len(s + i, len - i);
		char esc = 0;

		if (l == 1 && (s[i] == '\\' || s[i] == '"' || s[i] == '\n'))
			esc = s[i] == '\n' ? 'n' : (char)s[i];
		if (n + (esc ? 2 : l ? l : 1) > max) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (esc) {
			out[n++] = '\\';
			out[n++] = esc;
		} else if (!l || (l == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			out[n++] = '?';
		} else {
			memcpy(out + n, s + i, l);
			n += l;
		}
		i += l ? l : 1;
	}
	out[n] = '\0';
	return n;
}

/* A malloc'd label: name="value" for each pair given (NULL-terminated), comma-separated. */
static char *make_label(const char *name, ...)
{
	char buf[4 * (METRICS_LABEL_MAX + 64)];
	size_t n = 0;
	va_list ap;

	va_start(ap, name);
	for (const char *k = name; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);
		char esc[METRICS_LABEL_MAX + 8];

		if (!v)
			v = "";
		metrics_escape(v, strlen(v), esc, sizeof(esc));
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s=\"%s\"", n ? "," : "", k, esc);
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
	}
	va_end(ap);
	return xstrndup(buf, n);
}

/* ---- what the loop keeps ---- */

struct fnacc {
	uint32_t pid;
	const char *function, *module; /* the model's interned strings: the key */
	char *label;                   /* function="...",module="..." */
	uint64_t samples;
	double score;                  /* decayed samples */
	bool shown;                    /* in the last snapshot */
};

struct goacc {
	uint32_t status;
	const char *reason; /* interned in the model; NULL when not waiting */
	char *label;        /* state="...",wait_reason="..." */
	int64_t count;
};

struct proc {
	uint32_t pid;
	uint32_t main;       /* its main thread's index in the thread table, UINT32_MAX unknown */
	const char *name;    /* interned in the model */
	char *label;         /* pid="...",process="..." */
	uint64_t samples;
	uint64_t state_ns[MODEL_STATE_NR];
	uint64_t rss, growth;
	bool rss_known;
	bool go;
	uint64_t seen;       /* the newest tick (seq + 1) that named it */
	double score;        /* decayed samples */
	struct tick_go_proc gp;
	struct goacc *gos;
	size_t nr_gos, cap_gos;
};

struct metrics {
	struct metrics_opts o;
	struct proc *procs;
	size_t nr_procs, cap_procs;
	struct fnacc *fns;
	size_t nr_fns, cap_fns;
	uint32_t *proc_slots, *fn_slots; /* open addressing: index + 1, 0 empty */
	size_t proc_nslots, fn_nslots;
	uint64_t seq;        /* ticks folded */
	uint64_t last_compact;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t fn_hash(uint32_t pid, const char *function, const char *module)
{
	return mix(pid ^ mix((uintptr_t)function) ^ mix((uintptr_t)module * 31));
}

static void rehash(struct metrics *mx)
{
	size_t need;

	need = 16;
	while (need < 2 * mx->nr_procs + 16)
		need *= 2;
	free(mx->proc_slots);
	mx->proc_slots = xcalloc(need, sizeof(*mx->proc_slots));
	mx->proc_nslots = need;
	for (size_t i = 0; i < mx->nr_procs; i++) {
		size_t h = mix(mx->procs[i].pid) & (need - 1);

		while (mx->proc_slots[h])
			h = (h + 1) & (need - 1);
		mx->proc_slots[h] = (uint32_t)i + 1;
	}
	need = 16;
	while (need < 2 * mx->nr_fns + 16)
		need *= 2;
	free(mx->fn_slots);
	mx->fn_slots = xcalloc(need, sizeof(*mx->fn_slots));
	mx->fn_nslots = need;
	for (size_t i = 0; i < mx->nr_fns; i++) {
		const struct fnacc *f = &mx->fns[i];
		size_t h = fn_hash(f->pid, f->function, f->module) & (need - 1);

		while (mx->fn_slots[h])
			h = (h + 1) & (need - 1);
		mx->fn_slots[h] = (uint32_t)i + 1;
	}
}

static struct proc *proc_find(struct metrics *mx, uint32_t pid, bool add)
{
	size_t mask = mx->proc_nslots - 1, h = mix(pid) & mask;
	struct proc *p;

	for (; mx->proc_slots[h]; h = (h + 1) & mask)
		if (mx->procs[mx->proc_slots[h] - 1].pid == pid)
			return &mx->procs[mx->proc_slots[h] - 1];
	if (!add)
		return NULL;
	mx->procs = xgrow(mx->procs, &mx->cap_procs, mx->nr_procs + 1, sizeof(*mx->procs));
	p = &mx->procs[mx->nr_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->main = UINT32_MAX;
	if (2 * mx->nr_procs + 16 > mx->proc_nslots)
		rehash(mx);
	else
		mx->proc_slots[h] = (uint32_t)mx->nr_procs;
	return p;
}

static struct fnacc *fn_find(struct metrics *mx, uint32_t pid, const char *function,
			     const char *module)
{
	size_t mask = mx->fn_nslots - 1, h = fn_hash(pid, function, module) & mask;
	struct fnacc *f;

	for (; mx->fn_slots[h]; h = (h + 1) & mask) {
		f = &mx->fns[mx->fn_slots[h] - 1];
		if (f->pid == pid && f->function == function && f->module == module)
			return f;
	}
	mx->fns = xgrow(mx->fns, &mx->cap_fns, mx->nr_fns + 1, sizeof(*mx->fns));
	f = &mx->fns[mx->nr_fns++];
	*f = (struct fnacc){ .pid = pid, .function = function, .module = module };
	f->label = make_label("function", function, "module", module, NULL);
	if (2 * mx->nr_fns + 16 > mx->fn_nslots)
		rehash(mx);
	else
		mx->fn_slots[h] = (uint32_t)mx->nr_fns;
	return f;
}

static void proc_fini(struct proc *p)
{
	free(p->label);
	for (size_t i = 0; i < p->nr_gos; i++)
		free(p->gos[i].label);
	free(p->gos);
}

void metrics_new(const struct metrics_opts *o, struct metrics **out)
{
	struct metrics *mx = xcalloc(1, sizeof(*mx));

	mx->o = *o;
	if (!mx->o.freq_hz)
		mx->o.freq_hz = 99;
	rehash(mx);
	*out = mx;
}

void metrics_free(struct metrics *mx)
{
	if (!mx)
		return;
	for (size_t i = 0; i < mx->nr_procs; i++)
		proc_fini(&mx->procs[i]);
	for (size_t i = 0; i < mx->nr_fns; i++)
		free(mx->fns[i].label);
	free(mx->procs);
	free(mx->fns);
	free(mx->proc_slots);
	free(mx->fn_slots);
	free(mx);
}

/* The process of thread idx, noting its name: the main thread's is the process's. */
static struct proc *proc_of(struct metrics *mx, const struct threads *th, uint32_t idx)
{
	const struct thread *t = threads_get(th, idx);
	struct proc *p;

	if (!t || !t->pid)
		return NULL;
	p = proc_find(mx, t->pid, true);
	if (t->tid == t->pid && p->main != idx) {
		/* another main thread under this pid: the pid was reused, a new process */
		if (p->main != UINT32_MAX) {
			uint32_t pid = p->pid;

			proc_fini(p);
			memset(p, 0, sizeof(*p));
			p->pid = pid;
			for (size_t i = 0; i < mx->nr_fns; i++)
				if (mx->fns[i].pid == pid)
					mx->fns[i].samples = 0, mx->fns[i].score = 0;
		}
		p->main = idx;
	}
	if (t->process && strcmp(t->process, "?") && p->name != t->process &&
	    (t->tid == t->pid || !p->name)) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%u", p->pid);
		free(p->label);
		p->name = t->process;
		p->label = make_label("pid", pid, "process", p->name, NULL);
	}
	p->seen = mx->seq;
	return p;
}

/* The function a CPU sample is charged to: its stack's leaf. Code no symbol names counts once
 * per module ("(no symbols)"), as in the snapshot's Top functions. */
static void leaf_of(const struct stacks *st, uint32_t stack, const char **function,
		    const char **module)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	const struct frame *f = nr ? stacks_frame(st, frames[nr - 1]) : NULL;

	*function = "[unknown]";
	*module = "";
	if (!f)
		return;
	*module = f->module ? f->module : "";
	if (!f->symbolized && f->kind != FRAME_SPECIAL && f->kind != FRAME_UNKNOWN)
		*function = NO_SYMBOLS;
	else if (f->function)
		*function = f->function;
}

static void go_tick(struct metrics *mx, const struct model *m, const struct tick_go *tg)
{
	const struct goroutines *g = model_goroutines(m);

	for (size_t i = 0; i < tg->nr_procs; i++) {
		struct proc *p = proc_find(mx, tg->procs[i].pid, true);

		p->go = !tg->procs[i].error;
		p->gp = tg->procs[i];
		p->gp.version = p->gp.error = NULL; /* the model's: not kept */
		p->seen = mx->seq;
	}
	for (size_t i = 0; i < tg->nr_groups; i++) {
		const struct go_group *grp = goroutines_group(g, tg->groups[i].group);
		struct goacc *a = NULL;
		struct proc *p;

		if (!grp || (grp->flags & GO_GROUP_SYSTEM))
			continue;
		p = proc_find(mx, grp->pid, true);
		for (size_t k = 0; k < p->nr_gos && !a; k++)
			if (p->gos[k].status == grp->status && p->gos[k].reason == grp->wait_reason)
				a = &p->gos[k];
		if (!a) {
			p->gos = xgrow(p->gos, &p->cap_gos, p->nr_gos + 1, sizeof(*p->gos));
			a = &p->gos[p->nr_gos++];
			*a = (struct goacc){ .status = grp->status, .reason = grp->wait_reason };
			a->label = make_label("state", goroutines_status_name(grp->status),
					      "wait_reason", grp->wait_reason, NULL);
		}
		a->count += tg->groups[i].delta;
	}
}

/* Forgets processes nothing named for GONE_TICKS, and the least busy functions past FNS_MAX. */
static void compact(struct metrics *mx)
{
	size_t n = 0;

	mx->last_compact = mx->seq;
	for (size_t i = 0; i < mx->nr_procs; i++) {
		if (mx->procs[i].seen + GONE_TICKS < mx->seq) {
			proc_fini(&mx->procs[i]);
			continue;
		}
		mx->procs[n++] = mx->procs[i];
	}
	mx->nr_procs = n;
	rehash(mx); /* procs must be findable below */
	n = 0;
	for (size_t i = 0; i < mx->nr_fns; i++) {
		struct fnacc *f = &mx->fns[i];

		if (!proc_find(mx, f->pid, false) ||
		    (mx->nr_fns > FNS_MAX && !f->shown && f->score < 0.5)) {
			free(f->label);
			continue;
		}
		mx->fns[n++] = *f;
	}
	mx->nr_fns = n;
	rehash(mx);
}

void metrics_tick(struct metrics *mx, const struct model *m)
{
	const struct tick *t = model_tick(m, 0);
	const struct threads *th = model_threads(m);
	const struct stacks *st = model_stacks(m);
	bool expired = false;

	if (!t)
		return;
	mx->seq++;
	for (size_t i = 0; i < mx->nr_procs; i++) {
		mx->procs[i].score *= DECAY;
		expired |= mx->procs[i].seen + GONE_TICKS < mx->seq;
	}
	for (size_t i = 0; i < mx->nr_fns; i++)
		mx->fns[i].score *= DECAY;
	for (size_t i = 0; i < t->nr_counts; i++) {
		const struct tick_count *c = &t->counts[i];
		struct proc *p = proc_of(mx, th, c->thread);
		const char *function, *module;
		struct fnacc *f;

		if (!p)
			continue;
		p->samples += c->count;
		p->score += c->count;
		if (!mx->o.top_functions)
			continue;
		leaf_of(st, c->stack, &function, &module);
		f = fn_find(mx, p->pid, function, module);
		f->samples += c->count;
		f->score += c->count;
	}
	for (size_t i = 0; i < t->nr_states; i++) {
		const struct tick_count *c = &t->states[i];
		struct proc *p;

		if (c->stack >= MODEL_STATE_NR || !(p = proc_of(mx, th, c->thread)))
			continue;
		p->state_ns[c->stack] += c->count;
	}
	for (size_t i = 0; i < t->nr_memory; i++) {
		const struct tick_memory *mem = &t->memory[i];
		struct proc *p;

		if (!mem->pid || !(mem->known & (1u << MODEL_MEM_RSS)))
			continue;
		p = proc_find(mx, mem->pid, true);
		p->rss = mem->v[MODEL_MEM_RSS];
		p->rss_known = true;
		if (mem->d[MODEL_MEM_RSS] > 0)
			p->growth += (uint64_t)mem->d[MODEL_MEM_RSS];
		p->seen = mx->seq;
	}
	if (t->go)
		go_tick(mx, m, t->go);
	/* processes that had no name yet (memory or Go read before any thread was seen) */
	for (size_t i = 0; i < mx->nr_procs; i++) {
		struct proc *p = &mx->procs[i];

		if (!p->label) {
			uint32_t idx = threads_find(th, p->pid);
			char pid[16];

			if (idx != UINT32_MAX)
				proc_of(mx, th, idx);
			if (p->label)
				continue;
			snprintf(pid, sizeof(pid), "%u", p->pid);
			p->label = make_label("pid", pid, "process", "?", NULL);
		}
	}
	if ((expired && mx->seq >= mx->last_compact + 10) || mx->nr_fns > 2 * FNS_MAX)
		compact(mx);
}

/* ---- snapshots ---- */

struct snap_proc {
	uint32_t label;      /* arena offsets */
	uint32_t first_fn, nr_fn;
	uint32_t first_go, nr_go;
	bool rss_known, go;
	uint64_t cpu_ns, rss, growth;
	uint64_t state_ns[MODEL_STATE_NR];
	struct tick_go_proc gp;
};

struct snap_val {
	uint32_t label;
	int64_t v;
};

struct metrics_snap {
	atomic_int refs;
	char *arena;
	size_t arena_len, arena_cap;
	struct snap_proc *procs;
	size_t nr_procs;
	struct snap_val *fns; /* cpu ns */
	size_t nr_fns;
	struct snap_val *gos; /* goroutines */
	size_t nr_gos;
	uint64_t samples;
	uint64_t lost[MODEL_LOST_NR];
	bool probe_up[METRICS_PROBE_NR];
	unsigned freq_hz;
	uint64_t history_ns;
	uint32_t build_label;
	size_t series, dropped;
};

static uint32_t arena_put(struct metrics_snap *s, const char *str)
{
	size_t len = strlen(str) + 1, at = s->arena_len;

	s->arena = xgrow(s->arena, &s->arena_cap, at + len, 1);
	memcpy(s->arena + at, str, len);
	s->arena_len += len;
	return (uint32_t)at;
}

/* Series shown for flametop itself whatever the budget (render() writes exactly these). */
static size_t health_series(void)
{
	return 1 /* build_info */ + 1 /* frequency */ + 1 /* samples */ + MODEL_LOST_NR +
	       METRICS_PROBE_NR + 1 /* history */ + 2 /* series, dropped */ +
	       METRICS_HTTP_CODES + 1 /* cut */ + 2 /* profiles */ + 6 /* process_* */;
}

static size_t proc_series(const struct metrics *mx, const struct proc *p, size_t nr_fns)
{
	size_t n = 1 + nr_fns;

	if (mx->o.probe_up[METRICS_PROBE_SCHED])
		n += MODEL_STATE_NR;
	if (p->rss_known)
		n += 2;
	if (p->go)
		n += 5 + p->nr_gos;
	return n;
}

static const struct metrics *sort_mx;

static int by_score(const void *a, const void *b)
{
	const struct proc *x = &sort_mx->procs[*(const uint32_t *)a];
	const struct proc *y = &sort_mx->procs[*(const uint32_t *)b];

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* A function's rank: its recent samples, those already shown helped to stay. */
static double rank(const struct fnacc *f)
{
	return f->shown ? f->score * KEEP_BOOST : f->score;
}

struct metrics_snap *metrics_snapshot(struct metrics *mx, const struct model *m)
{
	struct metrics_snap *s = xcalloc(1, sizeof(*s));
	const struct tick *total = model_total(m);
	unsigned top = mx->o.top_functions;
	uint64_t period = 1000000000ull / mx->o.freq_hz;
	uint32_t *order = xcalloc(mx->nr_procs + 1, sizeof(*order));
	uint32_t *best = xcalloc(mx->nr_procs * (top ? top : 1) + 1, sizeof(*best));
	uint32_t *nbest = xcalloc(mx->nr_procs + 1, sizeof(*nbest));
	size_t budget = mx->o.max_series, nt = model_nr_ticks(m), nr_gos = 0;

	atomic_init(&s->refs, 1);
	s->samples = total->samples;
	memcpy(s->lost, total->lost, sizeof(s->lost));
	memcpy(s->probe_up, mx->o.probe_up, sizeof(s->probe_up));
	s->freq_hz = mx->o.freq_hz;
	if (nt)
		s->history_ns = model_tick(m, 0)->end_ns - model_tick(m, nt - 1)->start_ns;
	{
		char *l = make_label("version", mx->o.version ? mx->o.version : "",
				     "revision", mx->o.revision ? mx->o.revision : "", NULL);

		s->build_label = arena_put(s, l);
		free(l);
	}

	/* each process's busiest functions, by rank (best first, at most top) */
	for (size_t i = 0; i < mx->nr_fns && top; i++) {
		const struct fnacc *f = &mx->fns[i];
		struct proc *p = proc_find(mx, f->pid, false);
		uint32_t *b, *n;
		size_t k;

		if (!p || !f->samples)
			continue;
		b = &best[(size_t)(p - mx->procs) * top];
		n = &nbest[p - mx->procs];
		k = *n;
		if (k == top) {
			if (rank(&mx->fns[b[top - 1]]) >= rank(f))
				continue;
			k = top - 1; /* the last one makes room */
		}
		for (; k > 0 && rank(&mx->fns[b[k - 1]]) < rank(f); k--)
			b[k] = b[k - 1];
		b[k] = (uint32_t)i;
		if (*n < top)
			(*n)++;
	}
	for (size_t i = 0; i < mx->nr_fns; i++)
		mx->fns[i].shown = false;
	for (size_t i = 0; i < mx->nr_procs; i++)
		nr_gos += mx->procs[i].nr_gos;
	s->fns = xcalloc((size_t)mx->nr_procs * top + 1, sizeof(*s->fns));
	s->gos = xcalloc(nr_gos + 1, sizeof(*s->gos));

	/* processes, busiest first, while the budget lasts */
	for (size_t i = 0; i < mx->nr_procs; i++)
		order[i] = (uint32_t)i;
	sort_mx = mx;
	qsort(order, mx->nr_procs, sizeof(*order), by_score);
	s->series = health_series();
	s->procs = xcalloc(mx->nr_procs + 1, sizeof(*s->procs));
	for (size_t i = 0; i < mx->nr_procs; i++) {
		const struct proc *p = &mx->procs[order[i]];
		size_t n = proc_series(mx, p, nbest[order[i]]);
		struct snap_proc *sp;

		if (!p->label || s->series + n > budget) {
			s->dropped += n;
			continue;
		}
		s->series += n;
		sp = &s->procs[s->nr_procs++];
		sp->label = arena_put(s, p->label);
		sp->rss_known = p->rss_known;
		sp->go = p->go;
		sp->cpu_ns = p->samples * period;
		sp->rss = p->rss;
		sp->growth = p->growth;
		memcpy(sp->state_ns, p->state_ns, sizeof(sp->state_ns));
		sp->gp = p->gp;
		sp->first_fn = (uint32_t)s->nr_fns;
		sp->nr_fn = nbest[order[i]];
		for (uint32_t k = 0; k < sp->nr_fn; k++) {
			struct fnacc *f = &mx->fns[best[(size_t)order[i] * top + k]];

			f->shown = true;
			s->fns[s->nr_fns++] = (struct snap_val){ arena_put(s, f->label),
								 (int64_t)(f->samples * period) };
		}
		sp->first_go = (uint32_t)s->nr_gos;
		sp->nr_go = p->go ? (uint32_t)p->nr_gos : 0;
		for (uint32_t k = 0; k < sp->nr_go; k++)
			s->gos[s->nr_gos++] = (struct snap_val){ arena_put(s, p->gos[k].label),
								 p->gos[k].count };
	}
	free(order);
	free(best);
	free(nbest);
	return s;
}

struct metrics_snap *metrics_snap_get(struct metrics_snap *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void metrics_snap_put(struct metrics_snap *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->arena);
	free(s->procs);
	free(s->fns);
	free(s->gos);
	free(s);
}

size_t metrics_snap_series(const struct metrics_snap *s, size_t *dropped)
{
	if (dropped)
		*dropped = s->dropped;
	return s->series;
}

/* ---- flametop's own process ---- */

void metrics_read_self(const char *proc, struct metrics_live *l)
{
	char path[256], buf[4096];
	struct rusage ru;
	struct rlimit rl;
	FILE *f;
	DIR *d;

	if (!getrusage(RUSAGE_SELF, &ru))
		l->cpu_ns = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
			    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
	snprintf(path, sizeof(path), "%s/self/statm", proc);
	f = fopen(path, "re");
	if (f) {
		unsigned long long size, resident;
		long page = sysconf(_SC_PAGESIZE);

		if (fscanf(f, "%llu %llu", &size, &resident) == 2) {
			l->vsize = size * (uint64_t)page;
			l->rss = resident * (uint64_t)page;
		}
		fclose(f);
	}
	/* start: field 22 of stat (clock ticks after boot) + btime of /proc/stat */
	snprintf(path, sizeof(path), "%s/self/stat", proc);
	f = fopen(path, "re");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		char *p;
		unsigned long long start = 0;

		buf[n] = '\0';
		fclose(f);
		p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
		/* after ")": state (3) ... starttime (22): 19 fields on */
		for (int field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		if (p && sscanf(p + 1, "%llu", &start) == 1) {
			snprintf(path, sizeof(path), "%s/stat", proc);
			f = fopen(path, "re");
			while (f && fgets(buf, sizeof(buf), f)) {
				unsigned long long btime;

				if (sscanf(buf, "btime %llu", &btime) == 1) {
					l->start_s = btime + start / (uint64_t)sysconf(_SC_CLK_TCK);
					break;
				}
			}
			if (f)
				fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/self/fd", proc);
	d = opendir(path);
	if (d) {
		struct dirent *e;

		l->open_fds = 0;
		while ((e = readdir(d)))
			l->open_fds += e->d_name[0] != '.';
		closedir(d);
		if (l->open_fds)
			l->open_fds--; /* the directory's own fd */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		l->max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur;
}

/* ---- rendering ---- */

static void put(struct metrics_buf *b, const char *s, size_t n)
{
	b->p = xgrow(b->p, &b->cap, b->len + n + 1, 1);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct metrics_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_u64(struct metrics_buf *b, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, tmp + n, sizeof(tmp) - n);
}

static void put_i64(struct metrics_buf *b, int64_t v)
{
	if (v < 0) {
		put(b, "-", 1);
		put_u64(b, -(uint64_t)v);
	} else {
		put_u64(b, (uint64_t)v);
	}
}

/* Nanoseconds as seconds, exactly: "12.5", "0.000001", "3". */
static void put_seconds(struct metrics_buf *b, uint64_t ns)
{
	char frac[10];
	int n = 9;
	uint64_t f = ns % 1000000000ull;

	put_u64(b, ns / 1000000000ull);
	if (!f)
		return;
	for (int i = 8; i >= 0; i--, f /= 10)
		frac[i] = (char)('0' + f % 10);
	while (frac[n - 1] == '0')
		n--;
	put(b, ".", 1);
	put(b, frac, n);
}

enum family_type { COUNTER, GAUGE, INFO };

struct family {
	const char *name;  /* the sample's name: counters end in _total, the info in _info */
	enum family_type type;
	const char *unit;  /* OpenMetrics: "seconds", "bytes", "hertz", or NULL */
	const char *help;
};

/* # HELP / # TYPE (/ # UNIT): OpenMetrics names a counter's family without _total, an info's
 * without _info. */
static void header(struct metrics_buf *b, const struct family *f, bool om)
{
	size_t n = strlen(f->name);
	static const char *const types[] = { "counter", "gauge", "info" };

	if (om && f->type == COUNTER)
		n -= strlen("_total");
	else if (om && f->type == INFO)
		n -= strlen("_info");
	puts_(b, "# HELP ");
	put(b, f->name, n);
	put(b, " ", 1);
	puts_(b, f->help);
	puts_(b, "\n# TYPE ");
	put(b, f->name, n);
	put(b, " ", 1);
	puts_(b, om || f->type != INFO ? types[f->type] : "gauge");
	put(b, "\n", 1);
	if (om && f->unit) {
		puts_(b, "# UNIT ");
		put(b, f->name, n);
		put(b, " ", 1);
		puts_(b, f->unit);
		put(b, "\n", 1);
	}
}

/* name{a,b} : the sample's name and labels (either may be NULL), then the caller's value. */
static void sample(struct metrics_buf *b, const char *name, const char *a, const char *c)
{
	puts_(b, name);
	if (a || c) {
		put(b, "{", 1);
		if (a)
			puts_(b, a);
		if (a && c)
			put(b, ",", 1);
		if (c)
			puts_(b, c);
		put(b, "}", 1);
	}
	put(b, " ", 1);
}

static const struct family f_cpu = {
	"flametop_cpu_seconds_total", COUNTER, "seconds",
	"CPU time of each process, estimated from on-CPU samples (samples / sampling frequency)."
};
static const struct family f_state = {
	"flametop_thread_state_seconds_total", COUNTER, "seconds",
	"Time the threads of each process spent in each state (exact, from the scheduler's "
	"switches): running, runnable (waiting for a CPU), lock, io, poll, sleep, other, wait "
	"(a futex wait that is not a lock: idle pools, condition variables)."
};
static const struct family f_rss = {
	"flametop_rss_bytes", GAUGE, "bytes", "Resident memory of each process (/proc)."
};
static const struct family f_growth = {
	"flametop_rss_growth_bytes_total", COUNTER, "bytes",
	"Increases of each process's resident memory, summed (releases are not subtracted: "
	"flametop_rss_bytes is the net)."
};
static const struct family f_func = {
	"flametop_function_cpu_seconds_total", COUNTER, "seconds",
	"CPU time of the busiest functions of each process (the leaf of the sampled stack; "
	"the top N by recent samples), estimated from on-CPU samples."
};
static const struct family f_go_g = {
	"flametop_go_goroutines", GAUGE, NULL,
	"Goroutines of each Go process by state and wait reason, read from its runtime (the "
	"runtime's own goroutines left out, as pprof does)."
};
static const struct family f_go_gc = {
	"flametop_go_gc_cycles_total", COUNTER, NULL,
	"Garbage collections each Go process has completed since it started."
};
static const struct family f_go_pause = {
	"flametop_go_gc_pause_seconds_total", COUNTER, "seconds",
	"Stop-the-world GC pauses of each Go process since it started, summed."
};
static const struct family f_go_last = {
	"flametop_go_gc_last_pause_seconds", GAUGE, "seconds",
	"The newest GC pause of each Go process."
};
static const struct family f_go_live = {
	"flametop_go_heap_live_bytes", GAUGE, "bytes",
	"Heap in use of each Go process (its runtime's heapLive)."
};
static const struct family f_go_goal = {
	"flametop_go_heap_goal_bytes", GAUGE, "bytes",
	"The heap size at which each Go process's next GC starts (GOGC's goal)."
};

static void proc_families(struct metrics_buf *b, const struct metrics_snap *s, bool om)
{
	const char *a = s->arena;
	bool any_rss = false, any_go = false;

	if (!s->nr_procs)
		return;
	header(b, &f_cpu, om);
	for (size_t i = 0; i < s->nr_procs; i++) {
		sample(b, f_cpu.name, a + s->procs[i].label, NULL);
		put_seconds(b, s->procs[i].cpu_ns);
		put(b, "\n", 1);
		any_rss |= s->procs[i].rss_known;
		any_go |= s->procs[i].go;
	}
	if (s->probe_up[METRICS_PROBE_SCHED]) {
		header(b, &f_state, om);
		for (size_t i = 0; i < s->nr_procs; i++) {
			for (int k = 0; k < MODEL_STATE_NR; k++) {
				char st[32];

				snprintf(st, sizeof(st), "state=\"%s\"", model_state_name(k));
				sample(b, f_state.name, a + s->procs[i].label, st);
				put_seconds(b, s->procs[i].state_ns[k]);
				put(b, "\n", 1);
			}
		}
	}
	if (any_rss) {
		header(b, &f_rss, om);
		for (size_t i = 0; i < s->nr_procs; i++) {
			if (!s->procs[i].rss_known)
				continue;
			sample(b, f_rss.name, a + s->procs[i].label, NULL);
			put_u64(b, s->procs[i].rss);
			put(b, "\n", 1);
		}
		header(b, &f_growth, om);
		for (size_t i = 0; i < s->nr_procs; i++) {
			if (!s->procs[i].rss_known)
				continue;
			sample(b, f_growth.name, a + s->procs[i].label, NULL);
			put_u64(b, s->procs[i].growth);
			put(b, "\n", 1);
		}
	}
	if (s->nr_fns) {
		header(b, &f_func, om);
		for (size_t i = 0; i < s->nr_procs; i++) {
			const struct snap_proc *p = &s->procs[i];

			for (uint32_t k = 0; k < p->nr_fn; k++) {
				const struct snap_val *v = &s->fns[p->first_fn + k];

				sample(b, f_func.name, a + p->label, a + v->label);
				put_seconds(b, (uint64_t)v->v);
				put(b, "\n", 1);
			}
		}
	}
	if (!any_go)
		return;
	if (s->nr_gos) {
		header(b, &f_go_g, om);
		for (size_t i = 0; i < s->nr_procs; i++) {
			const struct snap_proc *p = &s->procs[i];

			for (uint32_t k = 0; k < p->nr_go; k++) {
				const struct snap_val *v = &s->gos[p->first_go + k];

				sample(b, f_go_g.name, a + p->label, a + v->label);
				put_i64(b, v->v > 0 ? v->v : 0);
				put(b, "\n", 1);
			}
		}
	}
	{
		const struct family *fs[] = { &f_go_gc, &f_go_pause, &f_go_last, &f_go_live,
					      &f_go_goal };

		for (size_t j = 0; j < sizeof(fs) / sizeof(fs[0]); j++) {
			header(b, fs[j], om);
			for (size_t i = 0; i < s->nr_procs; i++) {
				const struct snap_proc *p = &s->procs[i];
				const struct goroutines_gc *gc = &p->gp.gc;

				if (!p->go)
					continue;
				sample(b, fs[j]->name, a + p->label, NULL);
				if (fs[j] == &f_go_gc)
					put_u64(b, gc->numgc);
				else if (fs[j] == &f_go_pause)
					put_seconds(b, gc->pause_total_ns);
				else if (fs[j] == &f_go_last)
					put_seconds(b, gc->pause_last_ns);
				else if (fs[j] == &f_go_live)
					put_u64(b, gc->heap_live);
				else
					put_u64(b, gc->heap_goal);
				put(b, "\n", 1);
			}
		}
	}
}

static const char *const lost_probe[MODEL_LOST_NR] = {
	[MODEL_LOST_RINGBUF] = "cpu",          [MODEL_LOST_MAP_FULL] = "cpu",
	[MODEL_LOST_NO_STACK] = "cpu",         [MODEL_LOST_SCHED_RINGBUF] = "sched",
	[MODEL_LOST_SCHED_MAP_FULL] = "sched", [MODEL_LOST_SCHED_NO_STACK] = "sched",
	[MODEL_LOST_HEAP_RINGBUF] = "heap",    [MODEL_LOST_HEAP_MAP_FULL] = "heap",
	[MODEL_LOST_SIDEBAND] = "sideband",
};
static const char *const lost_reason[MODEL_LOST_NR] = {
	[MODEL_LOST_RINGBUF] = "ring_full",          [MODEL_LOST_MAP_FULL] = "map_full",
	[MODEL_LOST_NO_STACK] = "no_stack",          [MODEL_LOST_SCHED_RINGBUF] = "ring_full",
	[MODEL_LOST_SCHED_MAP_FULL] = "map_full",    [MODEL_LOST_SCHED_NO_STACK] = "no_stack",
	[MODEL_LOST_HEAP_RINGBUF] = "ring_full",     [MODEL_LOST_HEAP_MAP_FULL] = "map_full",
	[MODEL_LOST_SIDEBAND] = "ring_full",
};
static const char *const probe_names[METRICS_PROBE_NR] = { "cpu", "sched", "heap", "go" };

static const struct family f_build = {
	"flametop_build_info", INFO, NULL, "The flametop that serves these metrics."
};
static const struct family f_freq = {
	"flametop_sampling_frequency_hertz", GAUGE, "hertz",
	"On-CPU samples per second per CPU."
};
static const struct family f_samples = {
	"flametop_samples_total", COUNTER, NULL, "On-CPU samples taken since flametop started."
};
static const struct family f_lost = {
	"flametop_lost_events_total", COUNTER, NULL,
	"Events a probe lost before they reached flametop's model (figures are low by that), "
	"by probe and reason; no_stack samples are counted, without their stack."
};
static const struct family f_up = {
	"flametop_probe_up", GAUGE, NULL,
	"1 when the probe runs: cpu (on-CPU samples), sched (thread states), heap (growth by "
	"stack), go (Go runtimes)."
};
static const struct family f_history = {
	"flametop_history_seconds", GAUGE, "seconds",
	"How far back /debug/pprof/profile can look: the history flametop keeps."
};
static const struct family f_series = {
	"flametop_series", GAUGE, NULL, "Series in this exposition (--max-series is the budget)."
};
static const struct family f_dropped = {
	"flametop_series_dropped", GAUGE, NULL,
	"Series left out of this exposition by the budget (--max-series): the least busy "
	"processes' first."
};
static const struct family f_requests = {
	"flametop_http_requests_total", COUNTER, NULL,
	"HTTP requests answered since flametop started, by status code."
};
static const struct family f_cut = {
	"flametop_http_connections_cut_total", COUNTER, NULL,
	"Connections cut off because a request or its answer took too long."
};
static const struct family f_profiles = {
	"flametop_http_profiles_total", COUNTER, NULL,
	"Profiles built for /debug/pprof/ requests (and answered 200) since flametop started."
};
static const struct family f_profile_time = {
	"flametop_http_profile_build_seconds_total", COUNTER, "seconds",
	"Time flametop's sampling loop spent building those profiles (its probes' rings are not "
	"drained meanwhile; one waits four times the last one's time after it)."
};
static const struct family f_pcpu = {
	"process_cpu_seconds_total", COUNTER, "seconds",
	"Total user and system CPU time spent in seconds (flametop itself)."
};
static const struct family f_prss = {
	"process_resident_memory_bytes", GAUGE, "bytes",
	"Resident memory size in bytes (flametop itself)."
};
static const struct family f_pvsz = {
	"process_virtual_memory_bytes", GAUGE, "bytes",
	"Virtual memory size in bytes (flametop itself)."
};
static const struct family f_pstart = {
	"process_start_time_seconds", GAUGE, "seconds",
	"Start time of the process since unix epoch in seconds (flametop itself)."
};
static const struct family f_pfds = {
	"process_open_fds", GAUGE, NULL, "Number of open file descriptors (flametop itself)."
};
static const struct family f_pmaxfds = {
	"process_max_fds", GAUGE, NULL,
	"Maximum number of open file descriptors (flametop itself; 0: no limit)."
};

static void one(struct metrics_buf *b, const struct family *f, bool om, const char *labels,
		uint64_t v, bool seconds)
{
	header(b, f, om);
	sample(b, f->name, labels, NULL);
	if (seconds)
		put_seconds(b, v);
	else
		put_u64(b, v);
	put(b, "\n", 1);
}

static void health_families(struct metrics_buf *b, const struct metrics_snap *s,
			    const struct metrics_live *live, bool om)
{
	struct metrics_live none = { 0 };
	char lbl[96];

	if (!live)
		live = &none;
	one(b, &f_build, om, s->arena + s->build_label, 1, false);
	one(b, &f_freq, om, NULL, s->freq_hz, false);
	one(b, &f_samples, om, NULL, s->samples, false);
	header(b, &f_lost, om);
	for (int k = 0; k < MODEL_LOST_NR; k++) {
		snprintf(lbl, sizeof(lbl), "probe=\"%s\",reason=\"%s\"", lost_probe[k],
			 lost_reason[k]);
		sample(b, f_lost.name, lbl, NULL);
		put_u64(b, s->lost[k]);
		put(b, "\n", 1);
	}
	header(b, &f_up, om);
	for (int k = 0; k < METRICS_PROBE_NR; k++) {
		snprintf(lbl, sizeof(lbl), "probe=\"%s\"", probe_names[k]);
		sample(b, f_up.name, lbl, NULL);
		put_u64(b, s->probe_up[k]);
		put(b, "\n", 1);
	}
	one(b, &f_history, om, NULL, s->history_ns, true);
	one(b, &f_series, om, NULL, s->series, false);
	one(b, &f_dropped, om, NULL, s->dropped, false);
	header(b, &f_requests, om);
	for (int k = 0; k < METRICS_HTTP_CODES; k++) {
		snprintf(lbl, sizeof(lbl), "code=\"%u\"", metrics_http_codes[k]);
		sample(b, f_requests.name, lbl, NULL);
		put_u64(b, live->requests[k]);
		put(b, "\n", 1);
	}
	one(b, &f_cut, om, NULL, live->cut, false);
	one(b, &f_profiles, om, NULL, live->profiles, false);
	one(b, &f_profile_time, om, NULL, live->profile_ns, true);
	one(b, &f_pcpu, om, NULL, live->cpu_ns, true);
	one(b, &f_prss, om, NULL, live->rss, false);
	one(b, &f_pvsz, om, NULL, live->vsize, false);
	one(b, &f_pstart, om, NULL, live->start_s, false);
	one(b, &f_pfds, om, NULL, live->open_fds, false);
	one(b, &f_pmaxfds, om, NULL, live->max_fds, false);
}

void metrics_render(const struct metrics_snap *s, const struct metrics_live *live,
		    bool openmetrics, struct metrics_buf *out)
{
	proc_families(out, s, openmetrics);
	health_families(out, s, live, openmetrics);
	if (openmetrics)
		puts_(out, "# EOF\n");
}
