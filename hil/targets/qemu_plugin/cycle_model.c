/*
 * Cycle model (see cycle_model.h for the approach). The numbers come from the core data files
 * (cores/<core>.toml, each value with its source); this file holds the rules that combine them.
 */
#define _GNU_SOURCE /* getline */
#include "cycle_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

void cm_params_default(cm_params *p)
{
    memset(p, 0, sizeof *p);
    for (unsigned k = 0; k < K_COUNT; k++)
        p->cost[k] = 1;
}

typedef struct param_field {
    const char *name;
    size_t offset;
    int is32;
} param_field;

#define FIELD16(name) {#name, offsetof(cm_params, name), 0}
#define FIELD32(name) {#name, offsetof(cm_params, name), 1}

static const param_field fields[] = {
    FIELD16(branch_refill),     FIELD16(load_pipelining),   FIELD16(agu_stall),
    FIELD16(load_use_stall),    FIELD16(mul_use_stall),
    FIELD16(it_folding),        FIELD16(unaligned_two_part), FIELD16(unaligned_three_part),
    FIELD16(literal_load_extra), FIELD16(fp_double_extra),  FIELD16(mve_beat_cycles),
    FIELD16(dual_issue),        FIELD16(loop_end_cached),   FIELD32(flash_lo),
    FIELD32(flash_hi),          FIELD16(flash_wait_states), FIELD16(flash_read_bytes),
    FIELD16(flash_prefetch),    FIELD16(flash_cache_prefetched), FIELD16(icache_sets),       FIELD16(icache_ways),
    FIELD16(dcache_sets),       FIELD16(dcache_ways),       FIELD16(cache_unified),
};

static bool set_param(cm_params *p, const char *key, unsigned long long value)
{
    if (!strncmp(key, "cost.", 5)) {
        for (unsigned k = 0; k < K_COUNT; k++)
            if (!strcmp(key + 5, thumb_kind_name(k))) {
                if (value > 0xFFFF)
                    return false;
                p->cost[k] = (uint16_t)value;
                return true;
            }
        return false;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strcmp(key, fields[i].name)) {
            char *base = (char *)p + fields[i].offset;
            if (fields[i].is32) {
                if (value > 0xFFFFFFFFull)
                    return false;
                *(uint32_t *)base = (uint32_t)value;
            } else {
                if (value > 0xFFFF)
                    return false;
                *(uint16_t *)base = (uint16_t)value;
            }
            return true;
        }
    return false;
}

bool cm_params_read(FILE *file, const char *path, cm_params *p, char *err, size_t err_len)
{
    char *line = NULL;
    size_t capacity = 0;
    unsigned number = 0;
    bool ok = true;
    while (ok && getline(&line, &capacity, file) >= 0) {
        number++;
        char key[128];
        char value[64];
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        int fieldsread = sscanf(line, "%127s %63s", key, value);
        if (fieldsread <= 0)
            continue;
        char *end;
        errno = 0;
        unsigned long long v = fieldsread == 2 ? strtoull(value, &end, 0) : 0;
        if (fieldsread != 2 || errno || *end != '\0') {
            snprintf(err, err_len, "%s:%u: expected 'key number', got '%s'", path, number, key);
            ok = false;
        } else if (!set_param(p, key, v)) {
            snprintf(err, err_len, "%s:%u: unknown key or value out of range: %s %s", path, number, key, value);
            ok = false;
        }
    }
    free(line);
    if (!ok)
        return false;
    if (p->flash_wait_states) {
        unsigned rb = p->flash_read_bytes;
        if (rb < 2 || (rb & (rb - 1)) || p->flash_lo >= p->flash_hi || p->icache_ways > 16 || p->dcache_ways > 16 ||
            (!p->icache_sets) != (!p->icache_ways) || (!p->dcache_sets) != (!p->dcache_ways)) {
            snprintf(err, err_len, "%s: flash model needs flash_read_bytes a power of two, flash_lo < flash_hi "
                     "and caches of 1..16 ways", path);
            return false;
        }
        if (p->cache_unified && (!p->icache_sets || p->dcache_sets)) {
            snprintf(err, err_len, "%s: cache_unified needs an instruction cache (icache_sets) and no data cache", path);
            return false;
        }
    }
    return true;
}

/* ---- pipeline state: what one instruction leaves for the next ---- */

#define S_PREV_LOAD 0x01   /* a single load the next single load/store can pipeline behind */
#define S_PREV_NARROW 0x02 /* a 16-bit instruction (IT can fold onto it) */
#define S_SLOT_OPEN 0x04   /* dual issue: issued alone so far, a partner may join its cycle */

enum unit { U_NONE, U_ALU, U_MAC, U_LOAD, U_STORE, U_BRANCH, U_FP };

typedef struct cm_state {
    uint16_t load_dst;  /* destination of the previous single load */
    uint16_t dp_dst;    /* registers the previous data-processing instruction wrote */
    uint16_t pair_dst;  /* dual issue: what the instruction open for pairing writes */
    uint16_t mul_dst;   /* registers the previous multiply wrote */
    uint8_t flags;
    uint8_t pair_unit;
    uint8_t busy[4];    /* Helium pipes (load/store, integer, multiply, control): cycles still busy */
} cm_state;

static bool state_equal(const cm_state *a, const cm_state *b)
{
    return !memcmp(a, b, sizeof *a);
}

static bool state_is_reset(const cm_state *s)
{
    static const cm_state reset;
    return state_equal(s, &reset);
}

static enum cm_category category_of(unsigned kind)
{
    switch (kind) {
    case K_LOAD: case K_STORE: case K_LOAD_DUAL: case K_STORE_DUAL: case K_LOAD_MULTI: case K_STORE_MULTI:
    case K_PRELOAD: case K_FP_LOAD: case K_FP_STORE: case K_FP_LOAD_MULTI: case K_FP_STORE_MULTI: case K_MVE_LS:
        return CM_LOAD_STORE;
    case K_MUL: case K_MUL_LONG: case K_FP_MAC: case K_MVE_MUL:
        return CM_MULTIPLY;
    case K_BRANCH: case K_BRANCH_COND: case K_CBZ: case K_BRANCH_REG: case K_TABLE_BRANCH:
    case K_LOOP_START: case K_LOOP_END:
        return CM_BRANCH;
    default:
        return CM_OTHER;
    }
}

static bool is_memory(unsigned kind)
{
    return category_of(kind) == CM_LOAD_STORE || kind == K_TABLE_BRANCH;
}

static bool is_data_processing(unsigned kind)
{
    return kind == K_ALU || kind == K_MUL || kind == K_MUL_LONG || kind == K_DIV;
}

/* Single loads/stores the M4 pipelines (LDR/STR family, LDREX/STREX; not LDR pc). */
static bool is_pipelinable(const thumb_insn *in)
{
    return (in->kind == K_LOAD || in->kind == K_STORE) && !(in->flags & TF_WRITES_PC);
}

/* Cortex-M7 approximation: the issue unit an instruction needs, U_NONE if it issues alone. */
static enum unit dual_unit(const thumb_insn *in)
{
    if (in->flags & (TF_DOUBLE | TF_MVE))
        return U_NONE;
    switch (in->kind) {
    case K_ALU: case K_NOP: case K_IT: return U_ALU;
    case K_MUL: case K_MUL_LONG: return U_MAC;
    case K_LOAD: case K_PRELOAD: case K_FP_LOAD: return (in->flags & TF_WRITES_PC) ? U_NONE : U_LOAD;
    case K_STORE: case K_FP_STORE: return U_STORE;
    case K_BRANCH: case K_BRANCH_COND: case K_CBZ: case K_BRANCH_REG: return U_BRANCH;
    case K_FP_ALU: case K_FP_MAC: case K_FP_MOV_CORE: return U_FP;
    default: return U_NONE;
    }
}

static void drain(cm_state *s, unsigned cycles)
{
    for (unsigned i = 0; i < 4; i++)
        s->busy[i] = s->busy[i] > cycles ? (uint8_t)(s->busy[i] - cycles) : 0;
}

/* Cycles of one instruction given the state the previous one left; updates the state.
 * `branch_part` receives the share that is a taken branch's pipeline refill. */
static unsigned step(const cm_params *p, cm_state *s, const thumb_insn *in, unsigned *branch_part)
{
    unsigned kind = in->kind;
    unsigned c = p->cost[kind];
    *branch_part = 0;

    switch (kind) {
    case K_LOAD_MULTI: case K_STORE_MULTI: case K_FP_LOAD_MULTI: case K_FP_STORE_MULTI:
        c += in->nregs; /* 1 + N */
        break;
    case K_FP_LOAD: case K_FP_STORE:
        c += in->nregs > 1 ? in->nregs - 1u : 0; /* a double is two words */
        break;
    case K_FP_ALU: case K_FP_MAC: case K_FP_DIV:
        if (in->flags & TF_DOUBLE)
            c += p->fp_double_extra;
        break;
    case K_LOOP_END:
        c = 0; /* settled from the executed flow (low-overhead-branch cache) */
        break;
    default:
        break;
    }
    if (in->flags & TF_PC_REL)
        c += p->literal_load_extra;
    if ((in->flags & TF_WRITES_PC) && !(in->flags & TF_COND) && kind != K_LOOP_END) {
        c += p->branch_refill;
        *branch_part = p->branch_refill;
    }
    if (kind == K_IT && p->it_folding && (s->flags & S_PREV_NARROW))
        c = 0;
    if (p->load_pipelining && is_pipelinable(in) && (s->flags & S_PREV_LOAD) && !(s->load_dst & in->addr))
        c = c > p->load_pipelining ? c - p->load_pipelining : 1;
    if (p->agu_stall && is_memory(kind) && (s->dp_dst & in->addr))
        c += p->agu_stall;
    if (p->load_use_stall && (s->load_dst & in->src))
        c += p->load_use_stall;
    if (p->mul_use_stall && (s->mul_dst & in->src))
        c += p->mul_use_stall;

    if (p->mve_beat_cycles) {
        /* Beat-wise execution: an instruction issues when its pipe is free and holds it for
         * mve_beat_cycles; the next vector instruction on another pipe overlaps with it. */
        unsigned stall = 0, pipe = kind - K_MVE_LS;
        if (in->flags & TF_MVE && kind >= K_MVE_LS && kind <= K_MVE_SYS) {
            stall = s->busy[pipe];
            drain(s, stall);
            s->busy[pipe] = (uint8_t)(pipe == K_MVE_SYS - K_MVE_LS ? 1 : p->mve_beat_cycles);
        }
        drain(s, c);
        c += stall;
    }

    uint8_t slot_flags = 0;
    if (p->dual_issue) {
        enum unit u = dual_unit(in);
        enum unit prev = (enum unit)s->pair_unit;
        bool conflict = u == prev && (u == U_MAC || u == U_STORE || u == U_BRANCH || u == U_FP);
        if ((s->flags & S_SLOT_OPEN) && u != U_NONE && c == 1 && !conflict && !(in->src & s->pair_dst) &&
            prev != U_BRANCH) {
            c = 0; /* issues in the same cycle as the previous instruction */
            s->pair_unit = U_NONE;
            s->pair_dst = 0;
        } else if (u != U_NONE && c == 1 && !(in->flags & TF_WRITES_PC)) {
            slot_flags = S_SLOT_OPEN;
            s->pair_unit = (uint8_t)u;
            s->pair_dst = in->dst;
        } else {
            s->pair_unit = U_NONE;
            s->pair_dst = 0;
        }
    }

    bool single_load = kind == K_LOAD && !(in->flags & TF_WRITES_PC);
    s->flags = (uint8_t)((in->size == 2 ? S_PREV_NARROW : 0) | (single_load ? S_PREV_LOAD : 0) | slot_flags);
    s->load_dst = single_load ? in->dst : 0;
    s->dp_dst = is_data_processing(kind) ? in->dst : 0;
    s->mul_dst = (kind == K_MUL || kind == K_MUL_LONG) ? in->dst : 0;
    return c;
}

/* ---- flash accelerator: instruction prefetch, instruction and data caches ---- */

typedef struct cm_cache {
    unsigned sets, ways;
    uint32_t *tag; /* sets x ways, block number + 1 (0 = empty), most recently used first */
} cm_cache;

static void cache_init(cm_cache *c, unsigned sets, unsigned ways)
{
    c->sets = sets;
    c->ways = ways;
    c->tag = sets ? calloc((size_t)sets * ways, sizeof *c->tag) : NULL;
}

/* True on a hit, which makes the block the most recently used of its set. A miss with `fill`
 * brings it in, evicting the least recently used one. */
static bool cache_access(cm_cache *c, uint32_t block, bool fill)
{
    if (!c->sets)
        return false;
    uint32_t *set = c->tag + (size_t)(block % c->sets) * c->ways;
    uint32_t key = block + 1;
    unsigned w = 0;
    while (w < c->ways && set[w] != key)
        w++;
    bool hit = w < c->ways;
    if (!hit && !fill)
        return false;
    if (!hit)
        w = c->ways - 1;
    memmove(set + 1, set, w * sizeof *set);
    set[0] = key;
    return hit;
}

/* ---- translation blocks ---- */

typedef struct cm_slot {
    thumb_insn in;
    cm_state after;    /* static state after this instruction */
    uint32_t prefix;   /* static cycles of the instructions before it in the block */
    uint16_t cost;     /* static cycles */
    uint8_t branch_part;
    uint8_t category;
} cm_slot;

typedef struct cm_fetch {
    uint32_t block;    /* flash block (address / read bytes) first needed by... */
    uint32_t first;    /* ...this instruction index */
} cm_fetch;

struct cm_tb {
    uint64_t pc;
    unsigned n;
    uint64_t total;
    uint64_t category_total[CM_CATEGORIES];
    unsigned nfetch;
    cm_fetch *fetch;
    uint32_t *fetch_stall; /* per fetch, charged by the current execution */
    int32_t *diff;         /* per instruction, replay correction of the current execution */
    unsigned ndiff;
    cm_slot slot[];
};

struct cm_model {
    cm_params p;
    uint64_t cycles;
    uint64_t category[CM_CATEGORIES];
    cm_tb *cur;              /* block executing now */
    uint64_t cur_insns;      /* instruction counter when it started */
    cm_state cur_exit;       /* state after its last instruction, with its real entry state */
    uint64_t lob_pc;         /* LE cached by the low-overhead-branch extension (0: none) */
    cm_cache icache, dcache;
    cm_cache *data_cache;    /* &dcache, or &icache when one cache serves both (cache_unified) */
    uint32_t fetch_block, data_block;
    uint32_t prefetch_block;
    uint64_t prefetch_ready;
    bool fetch_valid, data_valid, prefetch_valid;
};

cm_model *cm_model_new(const cm_params *p)
{
    cm_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = *p;
    m->data_cache = p->cache_unified ? &m->icache : &m->dcache;
    if (p->flash_wait_states) {
        cache_init(&m->icache, p->icache_sets, p->icache_ways);
        cache_init(&m->dcache, p->dcache_sets, p->dcache_ways);
        if ((p->icache_sets && !m->icache.tag) || (p->dcache_sets && !m->dcache.tag)) {
            free(m->icache.tag);
            free(m->dcache.tag);
            free(m);
            return NULL;
        }
    }
    return m;
}

cm_model *cm_model_from_file(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot open cycle model %s: %s", path, strerror(errno));
        return NULL;
    }
    cm_params params;
    cm_params_default(&params);
    bool ok = cm_params_read(f, path, &params, err, err_len);
    fclose(f);
    if (!ok)
        return NULL;
    cm_model *m = cm_model_new(&params);
    if (!m)
        snprintf(err, err_len, "out of memory");
    return m;
}

static bool in_flash(const cm_params *p, uint64_t addr)
{
    return p->flash_wait_states && addr >= p->flash_lo && addr < p->flash_hi;
}

cm_tb *cm_tb_new(const cm_model *m, uint64_t pc, unsigned n, const uint8_t *const *bytes, const unsigned *lens)
{
    cm_tb *tb = calloc(1, sizeof *tb + (size_t)n * sizeof tb->slot[0]);
    if (!tb)
        return NULL;
    tb->pc = pc;
    tb->n = n;
    tb->diff = calloc(n ? n : 1, sizeof *tb->diff);
    cm_state s = {0};
    unsigned it_left = 0;
    for (unsigned i = 0; i < n; i++) {
        cm_slot *slot = &tb->slot[i];
        uint64_t ipc = i ? tb->slot[i - 1].in.pc + tb->slot[i - 1].in.size : pc;
        thumb_decode(bytes[i], lens[i], (uint32_t)ipc, &slot->in);
        if (it_left) { /* conditional execution: a branch in an IT block may not be taken */
            it_left--;
            slot->in.flags |= TF_IT_BLOCK;
            if (slot->in.flags & TF_WRITES_PC)
                slot->in.flags |= TF_COND;
        }
        if (slot->in.kind == K_IT)
            it_left = slot->in.it_count;
        unsigned branch_part;
        slot->prefix = (uint32_t)tb->total;
        slot->cost = (uint16_t)step(&m->p, &s, &slot->in, &branch_part);
        slot->branch_part = (uint8_t)branch_part;
        slot->category = (uint8_t)category_of(slot->in.kind);
        slot->after = s;
        tb->total += slot->cost;
        tb->category_total[slot->category] += slot->cost - branch_part;
        tb->category_total[CM_BRANCH] += branch_part;
    }
    if (m->p.flash_wait_states && n) {
        tb->fetch = calloc((size_t)n * 2, sizeof *tb->fetch);
        tb->fetch_stall = calloc((size_t)n * 2, sizeof *tb->fetch_stall);
        unsigned rb = m->p.flash_read_bytes;
        for (unsigned i = 0; i < n; i++) {
            const thumb_insn *in = &tb->slot[i].in;
            if (!in_flash(&m->p, in->pc))
                continue;
            uint32_t first = in->pc / rb, last = (in->pc + in->size - 1) / rb;
            for (uint32_t b = first; b <= last; b++)
                if (!tb->nfetch || tb->fetch[tb->nfetch - 1].block != b)
                    tb->fetch[tb->nfetch++] = (cm_fetch){b, i};
        }
    }
    return tb;
}

const thumb_insn *cm_tb_insn(const cm_tb *tb, unsigned i)
{
    return &tb->slot[i].in;
}

static void charge(cm_model *m, enum cm_category c, int64_t cycles)
{
    m->cycles += (uint64_t)cycles;
    m->category[c] += (uint64_t)cycles;
}

/* The block stopped after `executed` instructions (an I/O access QEMU re-executes alone, or an
 * exception): take back what was charged in advance for the rest. */
static void uncharge_rest(cm_model *m, cm_tb *tb, unsigned executed)
{
    for (unsigned i = executed; i < tb->n; i++) {
        const cm_slot *slot = &tb->slot[i];
        charge(m, slot->category, -(int64_t)(slot->cost - slot->branch_part));
        charge(m, CM_BRANCH, -(int64_t)slot->branch_part);
        if (i < tb->ndiff)
            charge(m, slot->category, -(int64_t)tb->diff[i]);
    }
}

/* Re-costs the first instructions of `tb` from the state the previous instruction really left
 * (the static cost assumed a fresh pipeline) until the state matches the static one. */
static cm_state replay(cm_model *m, cm_tb *tb, cm_state s)
{
    for (unsigned i = 0; i < tb->n; i++) {
        unsigned branch_part;
        unsigned c = step(&m->p, &s, &tb->slot[i].in, &branch_part);
        int32_t d = (int32_t)c - (int32_t)tb->slot[i].cost;
        tb->diff[i] = d;
        tb->ndiff = i + 1;
        if (d)
            charge(m, tb->slot[i].category, d);
        if (state_equal(&s, &tb->slot[i].after))
            return tb->slot[tb->n - 1].after;
    }
    return s;
}

/* Settles the block that ran before `next`: was its final conditional branch taken, did it
 * run to its end, which pipeline state does `next` inherit? Returns true if it inherits one. */
static bool settle_previous(cm_model *m, cm_tb *prev, const cm_tb *next, uint64_t insns, cm_state *carry)
{
    uint64_t executed = insns - m->cur_insns;
    if (executed < prev->n) {
        uncharge_rest(m, prev, (unsigned)executed);
        if (!executed)
            return false;
        const cm_slot *last = &prev->slot[executed - 1];
        *carry = last->after;
        return next->pc == last->in.pc + last->in.size;
    }
    const thumb_insn *last = &prev->slot[prev->n - 1].in;
    uint64_t fallthrough = last->pc + last->size;
    *carry = m->cur_exit;
    if (!(last->flags & TF_COND))
        return !(last->flags & TF_WRITES_PC) && next->pc == fallthrough;
    bool taken = next->pc != fallthrough && (!(last->flags & TF_DIRECT) || next->pc == last->target);
    if (last->kind == K_LOOP_END) {
        /* Armv8.1-M low-overhead loops: once an LE has run, the core caches the loop and later
         * iterations branch back without issuing it (no refill either: the state carries). */
        bool cached = m->lob_pc == last->pc;
        if (cached) {
            charge(m, CM_BRANCH, m->p.loop_end_cached);
            return true;
        }
        charge(m, CM_BRANCH, m->p.cost[K_LOOP_END] + (taken ? m->p.branch_refill : 0));
        if (taken)
            m->lob_pc = last->pc;
        return !taken && next->pc == fallthrough;
    }
    if (taken) {
        charge(m, CM_BRANCH, m->p.branch_refill);
        return false;
    }
    return next->pc == fallthrough;
}

static unsigned fetch_block(cm_model *m, uint32_t block, uint64_t t)
{
    const cm_params *p = &m->p;
    if (m->fetch_valid && block == m->fetch_block)
        return 0; /* still in the current line buffer */
    unsigned stall = 0;
    if (cache_access(&m->icache, block, false)) {
        /* cached (a hit also refreshes the block's place in its set) */
    } else if (p->flash_prefetch && m->prefetch_valid && block == m->prefetch_block) {
        stall = m->prefetch_ready > t ? (unsigned)(m->prefetch_ready - t) : 0;
        if (p->flash_cache_prefetched)
            cache_access(&m->icache, block, true);
    } else {
        /* A miss reads flash, after any prefetch still occupying it, and fills the cache. */
        if (m->prefetch_valid && m->prefetch_ready > t)
            stall += (unsigned)(m->prefetch_ready - t);
        stall += p->flash_wait_states;
        cache_access(&m->icache, block, true);
    }
    m->fetch_block = block;
    m->fetch_valid = true;
    if (p->flash_prefetch) { /* the next sequential line is read while this one executes */
        m->prefetch_block = block + 1;
        m->prefetch_ready = t + stall + p->flash_wait_states + 1;
        m->prefetch_valid = true;
    }
    return stall;
}

static void fetch_tb(cm_model *m, cm_tb *tb, uint64_t start)
{
    uint64_t stalls = 0;
    for (unsigned j = 0; j < tb->nfetch; j++) {
        uint64_t t = start + tb->slot[tb->fetch[j].first].prefix + stalls;
        unsigned stall = fetch_block(m, tb->fetch[j].block, t);
        tb->fetch_stall[j] = stall;
        stalls += stall;
    }
    charge(m, CM_FETCH, (int64_t)stalls);
}

void cm_tb_exec(cm_model *m, cm_tb *tb, uint64_t insns)
{
    cm_state carry = {0};
    bool inherits = m->cur && settle_previous(m, m->cur, tb, insns, &carry);
    uint64_t start = m->cycles;
    m->cycles += tb->total;
    for (unsigned c = 0; c < CM_CATEGORIES; c++)
        m->category[c] += tb->category_total[c];
    tb->ndiff = 0;
    m->cur_exit = tb->n ? tb->slot[tb->n - 1].after : (cm_state){0};
    if (inherits && !state_is_reset(&carry) && tb->n)
        m->cur_exit = replay(m, tb, carry);
    if (tb->nfetch)
        fetch_tb(m, tb, start);
    m->cur = tb;
    m->cur_insns = insns;
}

bool cm_wants_mem_callback(const cm_model *m, const thumb_insn *in)
{
    const cm_params *p = &m->p;
    bool load = in->kind == K_LOAD || in->kind == K_LOAD_DUAL || in->kind == K_LOAD_MULTI || in->kind == K_FP_LOAD ||
                in->kind == K_FP_LOAD_MULTI || in->kind == K_MVE_LS || in->kind == K_TABLE_BRANCH;
    /* Flash data: any load but the stack's (SP-based addresses are RAM; skipping them saves a
     * callback on every spill reload and POP). */
    if (p->flash_wait_states && load && in->addr != (1u << 13))
        return true;
    return (in->kind == K_LOAD || in->kind == K_STORE) && in->mem_bytes >= 2 &&
           (p->unaligned_two_part || p->unaligned_three_part);
}

void cm_mem_access(cm_model *m, const thumb_insn *in, uint64_t vaddr, unsigned bytes, bool store)
{
    const cm_params *p = &m->p;
    if (!store && in_flash(p, vaddr)) {
        /* Constant reads from flash go through the data cache (or the one cache fetch uses too, where
         * they evict code); a 64-bit read serves the next access to the same block too. */
        uint32_t block = (uint32_t)(vaddr / p->flash_read_bytes);
        if (!(m->data_valid && block == m->data_block) && !cache_access(m->data_cache, block, true))
            charge(m, CM_LOAD_STORE, p->flash_wait_states);
        m->data_block = block;
        m->data_valid = true;
    }
    if ((in->kind == K_LOAD || in->kind == K_STORE) && bytes >= 2) {
        unsigned misaligned = (unsigned)vaddr & (bytes - 1);
        if (misaligned) /* done as two halfwords / two bytes, or as byte + halfword + byte */
            charge(m, CM_LOAD_STORE, bytes == 4 && (misaligned & 1) ? p->unaligned_three_part : p->unaligned_two_part);
    }
}

uint64_t cm_cycles_at(const cm_model *m, uint64_t pc, uint64_t categories[CM_CATEGORIES])
{
    uint64_t total = m->cycles;
    memcpy(categories, m->category, sizeof m->category);
    const cm_tb *tb = m->cur;
    if (!tb)
        return total;
    unsigned k = 0;
    while (k < tb->n && tb->slot[k].in.pc != pc)
        k++;
    if (k == tb->n)
        return total;
    for (unsigned i = k + 1; i < tb->n; i++) {
        const cm_slot *slot = &tb->slot[i];
        int64_t cost = slot->cost + (i < tb->ndiff ? tb->diff[i] : 0);
        total -= (uint64_t)cost;
        categories[slot->category] -= (uint64_t)(cost - slot->branch_part);
        categories[CM_BRANCH] -= slot->branch_part;
    }
    for (unsigned j = 0; j < tb->nfetch; j++)
        if (tb->fetch[j].first > k) {
            total -= tb->fetch_stall[j];
            categories[CM_FETCH] -= tb->fetch_stall[j];
        }
    return total;
}
