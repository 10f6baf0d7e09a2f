// pointcloud.cu -- device code for package gpu: ROI crop and PointPillars
// pillarization with the exact semantics of filters/pointcloud (crop.go,
// pillar.go). Device code only; gen-ptx.sh compiles it to pointcloud.ptx
// with clang-16 (sm_80 PTX, JIT-compiled by the driver for newer cards).
//
// Bit-exactness rules (checked by gpu tests against the CPU code):
//   - built with -ffp-contract=off: no a*b+c is fused into an FMA, so every
//     float op rounds like Go's (Go never fuses across an explicit
//     conversion, and the CPU code is written so that nothing fuses);
//   - no -ffast-math / ftz: denormals kept, division is IEEE div.rn;
//   - every order-dependent result (pillar numbering, point order inside a
//     pillar, the float32 mean) is computed in a fixed order, never by the
//     order atomics happen to run in.
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __attribute__((always_inline)) inline

#define SCAN_THREADS 256
#define SCAN_ITEMS 4
#define SCAN_TILE (SCAN_THREADS * SCAN_ITEMS)  // 1024 items per block
#define FULL 0xffffffffu
#define INT_MAX_ 0x7fffffff
struct __attribute__((aligned(16))) f4 { float x, y, z, w; };

static __device__ __forceinline__ int shfl_up(int v, int d) { return __nvvm_shfl_sync_up_i32(FULL, v, d, 0); }
static __device__ __forceinline__ int shfl_idx(int v, int l) { return __nvvm_shfl_sync_idx_i32(FULL, v, l, 0x1f); }
static __device__ __forceinline__ int shfl_xor(int v, int m) { return __nvvm_shfl_sync_bfly_i32(FULL, v, m, 0x1f); }
static __device__ __forceinline__ unsigned match_any(int v) { return __nvvm_match_any_sync_i32(FULL, v); }
static __device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }
static __device__ __forceinline__ float shfl_idx_f(float v, int l) { return __nvvm_shfl_sync_idx_f32(FULL, v, l, 0x1f); }

// block_excl_scan returns the exclusive prefix of v over the block (256
// threads) and the block total in *total. Integer adds: order-free, exact.
static __device__ int block_excl_scan(int v, int* total) {
  __shared__ int warp_tot[SCAN_THREADS / 32];
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  int inc = v;
  for (int d = 1; d < 32; d <<= 1) {
    int t = shfl_up(inc, d);
    if (lane >= d) inc += t;
  }
  if (lane == 31) warp_tot[w] = inc;
  __syncthreads();
  if (w == 0) {
    int t = lane < SCAN_THREADS / 32 ? warp_tot[lane] : 0;
    int ti = t;
    for (int d = 1; d < 32; d <<= 1) {
      int u = shfl_up(ti, d);
      if (lane >= d) ti += u;
    }
    if (lane < SCAN_THREADS / 32) warp_tot[lane] = ti - t;  // exclusive warp offsets
    if (lane == SCAN_THREADS / 32 - 1) warp_tot[SCAN_THREADS / 32 - 1] = ti - t, *total = ti;
  }
  __syncthreads();
  int r = warp_tot[w] + inc - v;
  __syncthreads();  // warp_tot is reused by the next call
  return r;
}

// ---------------------------------------------------------------- scan ---
// Tile scans: a *_reduce kernel sums each tile of 1024 items into sums[b],
// scan_top (one block) scans sums[0..nb) in place, exclusive, and writes the
// total to sums[nb], and a *_down kernel adds sums[b] to the tile's own
// exclusive scan. Integer adds: the result is exact and order-free.
extern "C" __global__ void scan_top(int* sums, int nb) {
  __shared__ int tot;
  int carry = 0;
  for (int base = 0; base < nb; base += SCAN_TILE) {
    int v[SCAN_ITEMS], s = 0;
    int i0 = base + threadIdx.x * SCAN_ITEMS;
    for (int k = 0; k < SCAN_ITEMS; k++) {
      v[k] = i0 + k < nb ? sums[i0 + k] : 0;
      s += v[k];
    }
    int off = block_excl_scan(s, &tot);
    __syncthreads();
    off += carry;
    for (int k = 0; k < SCAN_ITEMS; k++) {
      if (i0 + k < nb) sums[i0 + k] = off;
      off += v[k];
    }
    carry += tot;
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[nb] = carry;
}

// ---------------------------------------------------------------- crop ---
// Crop in three launches: crop_reduce counts the points inside the box per
// tile of 1024, scan_top scans the counts, crop_down copies each kept point
// to its rank (tile offset + rank inside the tile): input order is kept.
// Inside: bounds inclusive; NaN fails every compare, so NaN points go.
static __device__ __forceinline__ int inside(const float* __restrict__ pts, long i, int c, float lx, float ly,
                                             float lz, float hx, float hy, float hz) {
  const float* p = pts + i * c;
  float x = p[0], y = p[1], z = p[2];
  return (x >= lx && x <= hx && y >= ly && y <= hy && z >= lz && z <= hz) ? 1 : 0;
}

extern "C" __global__ void crop_reduce(const float* __restrict__ pts, int n, int c, float lx, float ly, float lz,
                                       float hx, float hy, float hz, int* __restrict__ sums) {
  __shared__ int tot;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  int s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++)
    if (base + k < n) s += inside(pts, base + k, c, lx, ly, lz, hx, hy, hz);
  block_excl_scan(s, &tot);
  if (threadIdx.x == 0) sums[blockIdx.x] = tot;
}

extern "C" __global__ void crop_down(const float* __restrict__ pts, int n, int c, float lx, float ly, float lz,
                                     float hx, float hy, float hz, const int* __restrict__ sums,
                                     float* __restrict__ out) {
  __shared__ int tot;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  int f[SCAN_ITEMS], s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++) {
    f[k] = base + k < n ? inside(pts, base + k, c, lx, ly, lz, hx, hy, hz) : 0;
    s += f[k];
  }
  int pos = block_excl_scan(s, &tot) + sums[blockIdx.x];
  for (int k = 0; k < SCAN_ITEMS; k++) {
    if (!f[k]) continue;
    const float* p = pts + (long)(base + k) * c;
    float* o = out + (long)pos * c;
    if (c == 4) {
      *(f4*)o = *(const f4*)p;  // rows of 16 bytes are 16-byte aligned
    } else {
      for (int j = 0; j < c; j++) o[j] = p[j];
    }
    pos++;
  }
}

// spin keeps the GPU busy for about `cycles` clocks: profiling queues the
// launches behind it, so that events time the GPU work without host gaps.
extern "C" __global__ void spin(long long cycles) {
  long long t0 = __nvvm_read_ptx_sreg_clock64();
  while (__nvvm_read_ptx_sreg_clock64() - t0 < cycles) {
  }
}

// ------------------------------------------------------------- pillars ---
struct PillarGrid {
  float x0, y0, z0, x1, y1, z1;
  float invx, invy;
  int nx, ny;
};

// pil_cells: cell[i] = iy*nx+ix for a point in range (half-open, float32),
// else -1; first[cell] = smallest index of a point in the cell (atomicMin:
// the result does not depend on the order the atomics run in). Lanes of a
// warp that share a cell (consecutive lidar returns often do) send one
// atomic, from the lowest lane, which holds the smallest index. Every lane
// of the (full) warps takes part in the match: no early return.
extern "C" __global__ void pil_cells(const float* __restrict__ pts, int n, int c,
                                     float x0, float y0, float z0, float x1, float y1, float z1,
                                     float invx, float invy, int nx, int ny,
                                     int* __restrict__ cell, int* __restrict__ first) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int key = -1;
  if (i < n) {
    const float* p = pts + (long)i * c;
    float x = p[0], y = p[1], w = p[2];
    if (x >= x0 && x < x1 && y >= y0 && y < y1 && w >= z0 && w < z1) {
      int ix = (int)((x - x0) * invx);
      int iy = (int)((y - y0) * invy);
      ix = ix < nx - 1 ? ix : nx - 1;
      iy = iy < ny - 1 ? iy : ny - 1;
      key = iy * nx + ix;
    }
    cell[i] = key;
  }
  unsigned grp = match_any(key);
  if (key >= 0 && lane_id() == __builtin_ctz(grp)) __nvvm_atom_min_gen_i(&first[key], i);
}

// pil_flag_reduce / pil_flag_down: a point is a pillar's first when it is
// the first point of its cell (first[cell] == i); the exclusive scan of these
// flags numbers pillars in order of first appearance (the CPU's first come).
// pil_flag_reduce counts them per tile of 1024, scan_top scans the counts
// (sums[nb] = number of pillars before the cap), pil_flag_down numbers them.
// Pillars numbered at or beyond maxP are dropped (cellPid −1), like the CPU's.
static __device__ __forceinline__ int is_first(const int* __restrict__ cell, const int* __restrict__ first, int i) {
  int k = cell[i];
  return (k >= 0 && first[k] == i) ? 1 : 0;
}

extern "C" __global__ void pil_flag_reduce(const int* __restrict__ cell, int n, const int* __restrict__ first,
                                           int* __restrict__ sums) {
  __shared__ int tot;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  int s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++)
    if (base + k < n) s += is_first(cell, first, base + k);
  block_excl_scan(s, &tot);
  if (threadIdx.x == 0) sums[blockIdx.x] = tot;
}

extern "C" __global__ void pil_flag_down(const int* __restrict__ cell, int n, const int* __restrict__ first,
                                         const int* __restrict__ sums, int maxP, int* __restrict__ cellPid,
                                         int* __restrict__ pillarKey) {
  __shared__ int tot;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  int f[SCAN_ITEMS], s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++) {
    f[k] = base + k < n ? is_first(cell, first, base + k) : 0;
    s += f[k];
  }
  int p = block_excl_scan(s, &tot) + sums[blockIdx.x];
  for (int k = 0; k < SCAN_ITEMS; k++) {
    if (!f[k]) continue;
    int key = cell[base + k];
    if (p < maxP) {
      cellPid[key] = p;
      pillarKey[p] = key;
    } else {
      cellPid[key] = -1;
    }
    p++;
  }
}

// pil_pillar: the pillar of point i, or -1 (out of range, dropped pillar,
// or a padding thread).
static __device__ __forceinline__ int pillar_of(const int* __restrict__ cell, int n, const int* __restrict__ cellPid,
                                                int i, int* key) {
  *key = i < n ? cell[i] : -1;
  return *key >= 0 ? cellPid[*key] : -1;
}

// pil_count: total points per kept pillar (uncapped; integer atomics, one
// per group of lanes in the same pillar). It also resets first[] of the
// used cells for the next call (nothing reads it any more).
extern "C" __global__ void pil_count(const int* __restrict__ cell, int n, const int* __restrict__ cellPid,
                                     int* __restrict__ cnt, int* __restrict__ first) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int key, p = pillar_of(cell, n, cellPid, i, &key);
  if (key >= 0) first[key] = INT_MAX_;
  unsigned grp = match_any(p);
  if (p >= 0 && lane_id() == __builtin_ctz(grp)) __nvvm_atom_add_gen_i(&cnt[p], __builtin_popcount(grp));
}

// pil_alloc: gives pillar p < P a segment of cnt[p] slots in csr (off[p]).
// Segments are placed by atomics in any order; only their size matters.
// *seg is zeroed again by pil_features.
extern "C" __global__ void pil_alloc(const int* __restrict__ cnt, const int* __restrict__ totalFirst, int maxP,
                                     int* __restrict__ off, int* __restrict__ seg) {
  int p = blockIdx.x * blockDim.x + threadIdx.x;
  int P = *totalFirst;
  P = P < maxP ? P : maxP;
  int lane = lane_id();
  int v = p < P ? cnt[p] : 0;
  int inc = v;  // warp inclusive scan, then one atomic per warp
  for (int d = 1; d < 32; d <<= 1) {
    int t = shfl_up(inc, d);
    if (lane >= d) inc += t;
  }
  int base = 0;
  if (lane == 31 && inc > 0) base = __nvvm_atom_add_gen_i(seg, inc);
  base = shfl_idx(base, 31);
  if (p < P) off[p] = base + inc - v;
}

// pil_scatter: the point indices of pillar p go to csr[off[p] .. off[p]+cnt[p])
// in whatever order the atomics give; pil_features sorts them back.
extern "C" __global__ void pil_scatter(const int* __restrict__ cell, int n, const int* __restrict__ cellPid,
                                       const int* __restrict__ off, int* __restrict__ cursor,
                                       int* __restrict__ csr) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int key, p = pillar_of(cell, n, cellPid, i, &key);
  unsigned grp = match_any(p);
  int lane = lane_id(), leader = __builtin_ctz(grp);
  int base = 0;
  if (p >= 0 && lane == leader) base = __nvvm_atom_add_gen_i(&cursor[p], __builtin_popcount(grp));
  base = shfl_idx(base, leader);
  if (p >= 0) csr[off[p] + base + __builtin_popcount(grp & ((1u << lane) - 1))] = i;
}

// warp_sort32: bitonic sort of one int per lane across the warp, ascending
// by lane.
static __device__ int warp_sort32(int v) {
  int lane = threadIdx.x & 31;
  for (int k = 2; k <= 32; k <<= 1) {
    for (int j = k >> 1; j > 0; j >>= 1) {
      int o = shfl_xor(v, j);
      bool up = ((lane & k) == 0);
      bool lower = ((lane & j) == 0);
      int mn = v < o ? v : o, mx = v < o ? o : v;
      v = (lower == up) ? mn : mx;
    }
  }
  return v;
}

// warp_merge32: given best (sorted ascending across lanes) and cand (sorted
// ascending), returns the 32 smallest of both, sorted ascending.
static __device__ int warp_merge32(int best, int cand) {
  int lane = threadIdx.x & 31;
  int rev = shfl_idx(cand, 31 - lane);
  int v = best < rev ? best : rev;  // bitonic sequence holding the 32 smallest
  for (int j = 16; j > 0; j >>= 1) {
    int o = shfl_xor(v, j);
    bool lower = ((lane & j) == 0);
    int mn = v < o ? v : o, mx = v < o ? o : v;
    v = lower ? mn : mx;
  }
  return v;
}

// pil_features: one warp per pillar. It picks the pillar's first maxPts
// points in input order (the smallest indices, sorted), then writes the
// features exactly as pillar.go does: mean = (Σ in point order, float32,
// starting from +0) / float32(n); centre in float64 then rounded; padded
// slots (0 − v)·0. fmap packs F feature ids, 4 bits each, in output order.
// totalFirst points at the number of first points (the numbering's scan
// total). It zeroes cnt[p], cursor[p] and *seg for the next call.
extern "C" __global__ void pil_features(const float* __restrict__ pts, int c, const int* __restrict__ csr,
                                        const int* __restrict__ off, int* cnt, int* __restrict__ cursor, int* seg,
                                        const int* __restrict__ pillarKey, const int* __restrict__ totalFirst,
                                        int maxP, int maxPts, int nx, double sizex, double sizey,
                                        double offx, double offy, float zc, int F, unsigned long long fmap,
                                        float* __restrict__ feat, int* __restrict__ coords,
                                        int* __restrict__ num) {
  int p = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  int P = *totalFirst;
  P = P < maxP ? P : maxP;
  if (p >= P) return;  // whole warps leave together
  int L = cnt[p], o0 = off[p];
  // best: the 32 smallest indices so far, ascending across lanes (INT_MAX_
  // while fewer). Chunks of 32 are loaded 4 at a time (independent loads in
  // flight), then each is sorted and merged in, or skipped when none of its
  // indices is below the largest kept one (cheap: one vote).
  int best = INT_MAX_;
  for (int b = 0; b < L; b += 128) {
    int v[4];
#pragma unroll
    for (int u = 0; u < 4; u++) {
      int j = b + 32 * u + lane;
      v[u] = j < L ? csr[o0 + j] : INT_MAX_;
    }
#pragma unroll
    for (int u = 0; u < 4; u++) {
      int w = v[u];
      int worst = shfl_idx(best, 31);
      if (w > worst) w = INT_MAX_;
      if (!__nvvm_vote_any_sync(FULL, w != INT_MAX_)) continue;
      best = warp_merge32(best, warp_sort32(w));
    }
  }
  int n = L < maxPts ? L : maxPts;
  float x = 0.f, y = 0.f, w = 0.f, in = 0.f;
  if (lane < n) {
    const float* q = pts + (long)best * c;
    x = q[0], y = q[1], w = q[2];
    if (c > 3) in = q[3];
  }
  float sx = 0.f, sy = 0.f, sz = 0.f;  // same sums on every lane, in point order
  for (int r = 0; r < n; r++) {
    sx += shfl_idx_f(x, r);
    sy += shfl_idx_f(y, r);
    sz += shfl_idx_f(w, r);
  }
  float nf = (float)n;
  float mx = sx / nf, my = sy / nf, mz = sz / nf;
  int key = pillarKey[p];
  int cy = key / nx, cx = key % nx;
  float ccx = (float)((double)cx * sizex + offx);
  float ccy = (float)((double)cy * sizey + offy);
  float ccz = zc;
  if (p == 0 && lane == 0) *seg = 0;  // pil_alloc is done with it
  if (lane == 0) {
    cnt[p] = 0;  // reset for the next call (every lane read it before the first shuffle)
    cursor[p] = 0;
    coords[p * 4] = 0, coords[p * 4 + 1] = 0, coords[p * 4 + 2] = cy, coords[p * 4 + 3] = cx;
    num[p] = n;
  }
  float zero = 0.f;
  float v[10];
  if (lane < n) {
    v[0] = x, v[1] = y, v[2] = w, v[3] = in;
    v[4] = x - mx, v[5] = y - my, v[6] = w - mz;
    v[7] = x - ccx, v[8] = y - ccy, v[9] = w - ccz;
  } else {
    v[0] = v[1] = v[2] = v[3] = zero * zero;
    v[4] = (zero - mx) * zero, v[5] = (zero - my) * zero, v[6] = (zero - mz) * zero;
    v[7] = (zero - ccx) * zero, v[8] = (zero - ccy) * zero, v[9] = (zero - ccz) * zero;
  }
  // The pillar's [maxPts, F] block is contiguous in feat: each lane puts its
  // row in the warp's shared tile, then the warp stores the block with
  // consecutive (16-byte when possible) stores instead of F strided ones.
  __shared__ __attribute__((aligned(16))) float tile[256 / 32][32 * 16];  // launched with 256 threads
  float* t = tile[threadIdx.x >> 5];
  if (lane < maxPts) {  // maxPts <= 32: one row per lane
    for (int f = 0; f < F; f++) {
      int id = (int)((fmap >> (4 * f)) & 15);
      float val = 0.f;
#pragma unroll
      for (int k = 0; k < 10; k++)
        if (k == id) val = v[k];  // constant indices: v stays in registers
      t[lane * F + f] = val;
    }
  }
  __nvvm_bar_warp_sync(FULL);
  int m = maxPts * F;
  float* o = feat + (long)p * m;
  if ((m & 3) == 0) {  // p*m*4 bytes is then a multiple of 16
    for (int e = lane; e < m / 4; e += 32) ((f4*)o)[e] = ((const f4*)t)[e];
  } else {
    for (int e = lane; e < m; e += 32) o[e] = t[e];
  }
}
