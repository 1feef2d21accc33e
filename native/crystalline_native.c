/*
 * libcrystalline_native: machine topology and thread binding for Crystalline.Hpc.
 *
 * The managed code works without this library (it reads /sys and calls libc itself); the library
 * exists so that hwloc, which knows machines /sys describes poorly (odd cache sharing, hybrid cores,
 * memory-only NUMA nodes), can be used when it is installed. Without hwloc it reads /sys, so both
 * builds answer the same questions with the same numbering:
 *   - CPUs are identified by their OS number (the number sched_setaffinity takes);
 *   - a core index is dense, 0-based, in order of the first CPU (by OS number) on that core;
 *   - a socket id is the package's OS number (physical_package_id);
 *   - a NUMA node id is the node's OS number.
 * All entry points are thread-safe; the topology is read once (pthread_once).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CN_HAVE_HWLOC
#include <hwloc.h>
#endif

#define CN_API __attribute__((visibility("default")))
#define CN_API_VERSION 1

typedef struct {
    int cpu_id;
    int core_index;
    int socket_id;
    int numa_node;
} cn_cpu;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_init_error;
static cn_cpu *g_cpus;
static int g_cpu_count;
static int g_core_count;
static int g_socket_count;
static int g_numa_count;
static long long g_cache[4]; /* index 1: L1 data, 2: L2, 3: L3 */

/* Counts distinct sockets (quadratic, done once: fine even for thousands of CPUs). */
static int count_sockets(void)
{
    int n = 0;
    for (int i = 0; i < g_cpu_count; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = g_cpus[j].socket_id == g_cpus[i].socket_id;
        if (!seen) n++;
    }
    return n;
}

#ifdef CN_HAVE_HWLOC
static const char *backend_name = "hwloc";

static int init_topology(void)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) return errno ? errno : EIO;
    /* Report every online CPU, as /sys does, even those outside our cgroup's cpuset. */
    hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return errno ? errno : EIO;
    }
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    if (n <= 0) {
        hwloc_topology_destroy(topo);
        return ENODEV;
    }
    g_cpus = calloc((size_t)n, sizeof(cn_cpu));
    hwloc_obj_t *core_of = calloc((size_t)n, sizeof(hwloc_obj_t));
    if (!g_cpus || !core_of) {
        free(core_of);
        hwloc_topology_destroy(topo);
        return ENOMEM;
    }
    int numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < n; i++) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)i);
        hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
        hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pu);
        g_cpus[i].cpu_id = (int)pu->os_index;
        g_cpus[i].socket_id = pkg ? (int)pkg->os_index : 0;
        g_cpus[i].numa_node = 0;
        for (int k = 0; k < numa_nodes; k++) {
            hwloc_obj_t node = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)k);
            if (node->cpuset && hwloc_bitmap_isset(node->cpuset, pu->os_index)) {
                g_cpus[i].numa_node = (int)node->os_index;
                break;
            }
        }
        /* A PU without a core object (some VMs) is its own core. */
        core_of[i] = core ? core : pu;
    }
    g_cpu_count = n;
    /* Sort by OS number, carrying the core pointers along, then number cores densely. */
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && g_cpus[j - 1].cpu_id > g_cpus[j].cpu_id; j--) {
            cn_cpu t = g_cpus[j]; g_cpus[j] = g_cpus[j - 1]; g_cpus[j - 1] = t;
            hwloc_obj_t c = core_of[j]; core_of[j] = core_of[j - 1]; core_of[j - 1] = c;
        }
    }
    int cores = 0;
    for (int i = 0; i < n; i++) {
        int found = -1;
        for (int j = 0; j < i && found < 0; j++)
            if (core_of[j] == core_of[i]) found = g_cpus[j].core_index;
        g_cpus[i].core_index = found >= 0 ? found : cores++;
    }
    g_core_count = cores;
    g_numa_count = numa_nodes > 0 ? numa_nodes : 1; /* memory-only nodes count: they are allocation targets */
    free(core_of);

    static const hwloc_obj_type_t cache_types[4] = {HWLOC_OBJ_PU, HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE};
    for (int level = 1; level <= 3; level++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(topo, cache_types[level], 0);
        if (c && c->attr && c->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION) g_cache[level] = (long long)c->attr->cache.size;
    }
    hwloc_topology_destroy(topo);
    return 0;
}
#else
static const char *backend_name = "sysfs";

static int compare_cpu(const void *a, const void *b)
{
    return ((const cn_cpu *)a)->cpu_id - ((const cn_cpu *)b)->cpu_id;
}

static int read_text(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t got = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[got] = 0;
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' ')) buf[--got] = 0;
    return 0;
}

static int read_int(const char *path, int fallback)
{
    char buf[64];
    if (read_text(path, buf, sizeof buf) != 0) return fallback;
    return atoi(buf);
}

/* Parses a Linux CPU list ("0-3,8,10-11") into out (up to max entries); returns the count or -1. */
static int parse_list(const char *text, int *out, int max)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10);
        if (end == p) return -1;
        long b = a;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1) return -1;
            p = end;
        }
        for (long v = a; v <= b; v++) {
            if (n >= max) return -1;
            out[n++] = (int)v;
        }
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return n;
}

static long long parse_size(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == 'K') v *= 1024;
    else if (*end == 'M') v *= 1024 * 1024;
    else if (*end == 'G') v *= 1024LL * 1024 * 1024;
    return v;
}

static int init_topology(void)
{
    enum { MAX = 8192 };
    static char text[65536];
    int *ids = malloc(sizeof(int) * MAX);
    if (!ids) return ENOMEM;
    if (read_text("/sys/devices/system/cpu/online", text, sizeof text) != 0) {
        free(ids);
        return ENOENT;
    }
    int n = parse_list(text, ids, MAX);
    if (n <= 0) {
        free(ids);
        return EINVAL;
    }
    g_cpus = calloc((size_t)n, sizeof(cn_cpu));
    int *core_key_pkg = calloc((size_t)n, sizeof(int));
    int *core_key_id = calloc((size_t)n, sizeof(int));
    if (!g_cpus || !core_key_pkg || !core_key_id) {
        free(ids); free(core_key_pkg); free(core_key_id);
        return ENOMEM;
    }
    char path[256];
    for (int i = 0; i < n; i++) {
        int cpu = ids[i];
        g_cpus[i].cpu_id = cpu;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
        g_cpus[i].socket_id = read_int(path, 0);
        if (g_cpus[i].socket_id < 0) g_cpus[i].socket_id = 0;
        g_cpus[i].numa_node = 0;
    }
    qsort(g_cpus, (size_t)n, sizeof(cn_cpu), compare_cpu);
    /* Core keys (package, core_id) in CPU order, so dense numbering follows first appearance. */
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", g_cpus[i].cpu_id);
        core_key_pkg[i] = g_cpus[i].socket_id;
        core_key_id[i] = read_int(path, g_cpus[i].cpu_id);
    }
    int cores = 0;
    for (int i = 0; i < n; i++) {
        int found = -1;
        for (int j = 0; j < i && found < 0; j++)
            if (core_key_pkg[j] == core_key_pkg[i] && core_key_id[j] == core_key_id[i]) found = g_cpus[j].core_index;
        g_cpus[i].core_index = found >= 0 ? found : cores++;
    }
    g_cpu_count = n;
    g_core_count = cores;
    free(core_key_pkg);
    free(core_key_id);

    if (read_text("/sys/devices/system/node/online", text, sizeof text) == 0) {
        int *nodes = malloc(sizeof(int) * MAX);
        int nn = nodes ? parse_list(text, nodes, MAX) : -1;
        for (int k = 0; k < nn; k++) {
            snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", nodes[k]);
            if (read_text(path, text, sizeof text) != 0 || !text[0]) continue;
            int m = parse_list(text, ids, MAX);
            for (int a = 0; a < m; a++)
                for (int i = 0; i < n; i++)
                    if (g_cpus[i].cpu_id == ids[a]) g_cpus[i].numa_node = nodes[k];
        }
        free(nodes);
        g_numa_count = nn > 0 ? nn : 1; /* memory-only nodes count: they are allocation targets */
    } else {
        g_numa_count = 1;
    }
    free(ids);

    int cpu0 = g_cpus[0].cpu_id;
    for (int idx = 0; idx < 16; idx++) {
        char type[64], size[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/level", cpu0, idx);
        int level = read_int(path, -1);
        if (level < 0) break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/type", cpu0, idx);
        if (read_text(path, type, sizeof type) != 0) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cache/index%d/size", cpu0, idx);
        if (read_text(path, size, sizeof size) != 0) continue;
        if (level >= 1 && level <= 3 && strcmp(type, "Instruction") != 0 && g_cache[level] == 0) g_cache[level] = parse_size(size);
    }
    return 0;
}
#endif

static void init_once(void)
{
    g_init_error = init_topology();
    if (g_init_error == 0) {
        g_socket_count = count_sockets();
    }
}

static int ensure(void)
{
    pthread_once(&g_once, init_once);
    return g_init_error;
}

CN_API int cn_api_version(void) { return CN_API_VERSION; }

CN_API const char *cn_backend(void) { return backend_name; }

/* 0 when the topology could be read, else an errno value. */
CN_API int cn_init(void) { return ensure(); }

CN_API int cn_logical_cpu_count(void) { return ensure() ? -1 : g_cpu_count; }
CN_API int cn_physical_core_count(void) { return ensure() ? -1 : g_core_count; }
CN_API int cn_socket_count(void) { return ensure() ? -1 : g_socket_count; }
CN_API int cn_numa_node_count(void) { return ensure() ? -1 : g_numa_count; }

/* Cache size in bytes: level 1 is the L1 data cache; 0 when unknown, -1 for a bad level. */
CN_API long long cn_cache_bytes(int level)
{
    if (level < 1 || level > 3) return -1;
    return ensure() ? 0 : g_cache[level];
}

/* The index-th logical CPU (ordered by OS number). 0 on success, -1 for a bad index or no topology. */
CN_API int cn_cpu_info(int index, int *cpu_id, int *core_index, int *socket_id, int *numa_node)
{
    if (ensure() || index < 0 || index >= g_cpu_count) return -1;
    if (cpu_id) *cpu_id = g_cpus[index].cpu_id;
    if (core_index) *core_index = g_cpus[index].core_index;
    if (socket_id) *socket_id = g_cpus[index].socket_id;
    if (numa_node) *numa_node = g_cpus[index].numa_node;
    return 0;
}

/* Pins the calling thread to one CPU (OS number). 0 on success, else an errno value. */
CN_API int cn_bind_current_thread(int cpu)
{
    if (cpu < 0 || cpu >= 65536) return EINVAL;
    size_t size = CPU_ALLOC_SIZE(cpu + 1);
    cpu_set_t *set = CPU_ALLOC(cpu + 1);
    if (!set) return ENOMEM;
    CPU_ZERO_S(size, set);
    CPU_SET_S(cpu, size, set);
    int rc = sched_setaffinity(0, size, set) == 0 ? 0 : errno;
    CPU_FREE(set);
    return rc;
}

/* The CPU the calling thread runs on now, or -1. */
CN_API int cn_current_cpu(void) { return sched_getcpu(); }

/* NUMA node of a CPU (OS number), or -1 when the CPU is unknown. */
CN_API int cn_numa_node_of_cpu(int cpu)
{
    if (ensure()) return -1;
    for (int i = 0; i < g_cpu_count; i++)
        if (g_cpus[i].cpu_id == cpu) return g_cpus[i].numa_node;
    return -1;
}
