// vision.cu -- device code for package gpu: lidar→camera projection with a
// z-buffer depth map (filters/align), depth→points (filters/depth2point) and
// the letterbox/normalise preprocessing of an RGB image into an NCHW f32
// tensor (core2d/infer LetterboxRGB). Device code only; gen-ptx.sh compiles
// it to vision.ptx with clang-16.
//
// Bit-exactness: built like pointcloud.cu (-ffp-contract=off: every mul/add
// is emitted as mul.rn/add.rn, which ptxas never fuses; IEEE division and
// no ftz). Each kernel repeats the Go reference's operations in the same
// order and precision (float32 where Go uses float32, double where Go uses
// float64), so the results are the same bits.
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __attribute__((always_inline)) inline

#define FULL 0xffffffffu
#define SCAN_THREADS 256
#define SCAN_ITEMS 4
#define SCAN_TILE (SCAN_THREADS * SCAN_ITEMS)  // = pointcloud.cu's: its scan_top is reused
#define EMPTY_DEPTH 0xffffffffu                // z-buffer "no point yet": above every float's bits
#define NAN_BITS 0x7fc00000u                   // Go's float32(math.NaN())

static __device__ __forceinline__ int lane_id() { return threadIdx.x & 31; }
static __device__ __forceinline__ int shfl_up(int v, int d) { return __nvvm_shfl_sync_up_i32(FULL, v, d, 0); }
static __device__ __forceinline__ float bits_f(unsigned u) { return __builtin_bit_cast(float, u); }
static __device__ __forceinline__ unsigned f_bits(float f) { return __builtin_bit_cast(unsigned, f); }

// ----------------------------------------------------------- projection ---
// The 3×4 projection M (align.Camera.M) comes as 12 kernel arguments
// (constant memory). One row of M·[x y z 1] as align.project: ((m0·x + m1·y) + m2·z) + m3, every
// product and sum rounded to float32.
static __device__ __forceinline__ float row(const float* m, float x, float y, float z) {
  return ((m[0] * x + m[1] * y) + m[2] * z) + m[3];
}

// pixel is align.pixel: floor(u/w), floor(v/w) inside a W×H image.
static __device__ __forceinline__ bool pixel(float u, float v, float w, int W, int H, int* col, int* rw) {
  float fu = u / w, fv = v / w;
  if (!(fu >= 0.0f && fu < (float)W && fv >= 0.0f && fv < (float)H)) return false;
  int c = (int)fu, r = (int)fv;
  if (c >= W || r >= H) return false;
  *col = c, *rw = r;
  return true;
}

// proj_depth is align.Camera.DepthMap's per-point body: a landing point
// writes its depth w into its pixel by atomicMin on the bits. Positive
// floats (w > 1e-3, +Inf included) order like their bit patterns as
// unsigned ints, so the minimum is the nearest point whatever order the
// atomics run in: the same map as the CPU's sequential "*d == 0 || w < *d"
// (equal depths are the same value, so ties need no rule). The map starts
// at EMPTY_DEPTH (memset) and proj_finish turns what is left into 0. count
// gets the number of landing points (one atomic per warp).
#define M_ARGS                                                                                                 \
  float m0, float m1, float m2, float m3, float m4, float m5, float m6, float m7, float m8, float m9, float m10, \
      float m11
#define M_GATHER {m0, m1, m2, m3, m4, m5, m6, m7, m8, m9, m10, m11}

extern "C" __global__ void proj_depth(const float* __restrict__ pts, int n, int stride, M_ARGS, int W, int H,
                                      float fw, unsigned* __restrict__ depth, int* __restrict__ count) {
  const float m[12] = M_GATHER;
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  bool hit = false;
  if (i < n) {
    const float* p = pts + (long)i * stride;
    float x = p[0], y = p[1], z = p[2];
    float w = row(m + 8, x, y, z);
    if (w > 1e-3f) {  // align.MinDepth, as float32
      float u = row(m, x, y, z);
      if (u >= 0.0f && u < fw * w) {
        float v = row(m + 4, x, y, z);
        int col, rw;
        if (v >= 0.0f && pixel(u, v, w, W, H, &col, &rw)) {
          hit = true;
          __nvvm_atom_min_gen_ui(&depth[(long)rw * W + col], f_bits(w));
        }
      }
    }
  }
  unsigned b = __nvvm_vote_ballot_sync(FULL, hit);
  if (lane_id() == 0 && b) __nvvm_atom_add_gen_i(count, __builtin_popcount(b));
}

// proj_finish turns untouched pixels (EMPTY_DEPTH) into 0: no return.
extern "C" __global__ void proj_finish(unsigned* __restrict__ depth, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && depth[i] == EMPTY_DEPTH) depth[i] = 0;
}

// proj_uvd is align.Camera.Project: (u/w, v/w, w) for points in the image,
// (NaN, NaN, NaN) for the others.
extern "C" __global__ void proj_uvd(const float* __restrict__ pts, int n, int stride, M_ARGS, int W, int H,
                                    float* __restrict__ uvd, int* __restrict__ count) {
  const float m[12] = M_GATHER;
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  bool hit = false;
  if (i < n) {
    const float* p = pts + (long)i * stride;
    float x = p[0], y = p[1], z = p[2];
    float w = row(m + 8, x, y, z);
    float u = row(m, x, y, z);
    float v = row(m + 4, x, y, z);
    float* o = uvd + (long)i * 3;
    int col, rw;
    if (w > 1e-3f && pixel(u, v, w, W, H, &col, &rw)) {
      o[0] = u / w, o[1] = v / w, o[2] = w;
      hit = true;
    } else {
      o[0] = o[1] = o[2] = bits_f(NAN_BITS);
    }
  }
  unsigned b = __nvvm_vote_ballot_sync(FULL, hit);
  if (lane_id() == 0 && b) __nvvm_atom_add_gen_i(count, __builtin_popcount(b));
}

// --------------------------------------------------------- depth→points ---
// Same block scan as pointcloud.cu (256 threads, exclusive, integer adds).
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
    if (lane < SCAN_THREADS / 32) warp_tot[lane] = ti - t;
    if (lane == SCAN_THREADS / 32 - 1) *total = ti;
  }
  __syncthreads();
  int r = warp_tot[w] + inc - v;
  __syncthreads();
  return r;
}

// Unprojection parameters, computed on the host in float64 exactly as
// depth2point.Unproject computes them (ifx = 1/fx, …), passed as kernel
// arguments (D2P_ARGS) and gathered here.
struct d2p_params {
  double cx, cy, skew, ifx, ify, unit, min_d, max_d, sx, sy, ox, oy;
};

// d2p_z returns pixel i's depth in metres, or -1 when it is skipped:
// raw 0, NaN or ±Inf; z < min, z > max or z ≤ 0 (depth2point.Unproject).
static __device__ __forceinline__ double d2p_z(const unsigned char* __restrict__ img, int i, int w, int pitch,
                                               int is_f32, const d2p_params* p) {
  int v = i / w, u = i - v * w;
  const unsigned char* r = img + (long)v * pitch;
  double raw;
  if (is_f32) {
    raw = (double)((const float*)r)[u];
    if (raw == 0.0 || raw != raw || raw - raw != 0.0) return -1.0;  // 0, NaN, ±Inf
  } else {
    raw = (double)((const unsigned short*)r)[u];
    if (raw == 0.0) return -1.0;
  }
  double z = raw * p->unit;
  if (z < p->min_d || z > p->max_d || z <= 0.0) return -1.0;
  return z;
}

#define D2P_ARGS                                                                                        \
  double cx, double cy, double skew, double ifx, double ify, double unit, double min_d, double max_d, double sx, \
      double sy, double ox, double oy
#define D2P_GATHER {cx, cy, skew, ifx, ify, unit, min_d, max_d, sx, sy, ox, oy}

extern "C" __global__ void d2p_reduce(const unsigned char* __restrict__ img, int n, int w, int pitch, int is_f32,
                                      D2P_ARGS, int* __restrict__ sums) {
  __shared__ int tot;
  d2p_params p = D2P_GATHER;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  int s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++)
    if (base + k < n) s += d2p_z(img, base + k, w, pitch, is_f32, &p) >= 0.0 ? 1 : 0;
  block_excl_scan(s, &tot);
  if (threadIdx.x == 0) sums[blockIdx.x] = tot;
}

// d2p_down writes each kept pixel's point (and colour coordinate, when tex
// is not null) at its rank in row-major order; ranks ≥ limit are dropped
// (max_points: the first ones in row-major order are kept, as the CPU loop).
extern "C" __global__ void d2p_down(const unsigned char* __restrict__ img, int n, int w, int pitch, int is_f32,
                                    D2P_ARGS, const int* __restrict__ sums, int limit, float* __restrict__ xyz,
                                    float* __restrict__ tex) {
  __shared__ int tot;
  d2p_params p = D2P_GATHER;
  int base = blockIdx.x * SCAN_TILE + threadIdx.x * SCAN_ITEMS;
  double z[SCAN_ITEMS];
  int s = 0;
  for (int k = 0; k < SCAN_ITEMS; k++) {
    z[k] = base + k < n ? d2p_z(img, base + k, w, pitch, is_f32, &p) : -1.0;
    s += z[k] >= 0.0 ? 1 : 0;
  }
  int r = block_excl_scan(s, &tot) + sums[blockIdx.x];
  for (int k = 0; k < SCAN_ITEMS; k++) {
    if (!(z[k] >= 0.0)) continue;
    if (r < limit) {
      int i = base + k, v = i / w, u = i - v * w;
      double yn = ((double)v - p.cy) * p.ify;
      xyz[3L * r] = (float)((((double)u - p.cx) - p.skew * yn) * p.ifx * z[k]);
      xyz[3L * r + 1] = (float)(yn * z[k]);
      xyz[3L * r + 2] = (float)z[k];
      if (tex) {
        tex[2L * r] = (float)((double)u * p.sx + p.ox);
        tex[2L * r + 1] = (float)((double)v * p.sy + p.oy);
      }
    }
    r++;
  }
}

// ------------------------------------------------------------ letterbox ---
// round half away from zero for v ≥ 0 (Go's math.Round): v − trunc(v) is
// exact, so the comparison with 0.5 is too.
static __device__ __forceinline__ double round_pos(double v) {
  double t = __builtin_trunc(v);
  return v - t >= 0.5 ? t + 1.0 : t;
}

// Letterbox parameters (kernel arguments, gathered): the source size and pitch, the resized size, the
// scale factors w/nw, h/nh (host float64, as infer.letterbox), and the
// per-channel normalisation of the output channels (B, G, R order).
struct lb_params {
  double sx, sy;
  int w, h, pitch, bpp, nw, nh, size, norm;
  float mean[3], scale[3];
};

// letterbox: one thread per output pixel of the size×size square: inside the
// resized ⌊w·r⌋×⌊h·r⌋ image, bilinear with half-pixel centres (edge
// clamped), each channel in float64 as infer.letterbox, rounded half away
// from zero to an integer 0–255; outside it 114. Channels BGR, planar (CHW)
// at dst; with norm set each value becomes float32((v − mean[c])·scale[c]).
extern "C" __global__ void letterbox(const unsigned char* __restrict__ pix, double sx, double sy, int w, int h,
                                     int pitch, int bpp, int nw, int nh, int size, int norm, float m0, float m1,
                                     float m2, float s0, float s1, float s2, float* __restrict__ dst) {
  lb_params p = {sx, sy, w, h, pitch, bpp, nw, nh, size, norm, {m0, m1, m2}, {s0, s1, s2}};
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int plane = p.size * p.size;
  if (i >= plane) return;
  int y = i / p.size, x = i - y * p.size;
  double out[3] = {114.0, 114.0, 114.0};  // R, G, B
  if (x < p.nw && y < p.nh) {
    double fy = ((double)y + 0.5) * p.sy - 0.5;
    fy = __builtin_fmax(0.0, __builtin_fmin(fy, (double)(p.h - 1)));
    int y0 = (int)fy, y1 = y0 + 1 < p.h - 1 ? y0 + 1 : p.h - 1;
    double wy = fy - (double)y0;
    double fx = ((double)x + 0.5) * p.sx - 0.5;
    fx = __builtin_fmax(0.0, __builtin_fmin(fx, (double)(p.w - 1)));
    int x0 = (int)fx, x1 = x0 + 1 < p.w - 1 ? x0 + 1 : p.w - 1;
    double wx = fx - (double)x0;
    const unsigned char* a = pix + (long)y0 * p.pitch + x0 * p.bpp;
    const unsigned char* b = pix + (long)y0 * p.pitch + x1 * p.bpp;
    const unsigned char* c = pix + (long)y1 * p.pitch + x0 * p.bpp;
    const unsigned char* d = pix + (long)y1 * p.pitch + x1 * p.bpp;
    for (int ch = 0; ch < 3; ch++) {
      double top = (double)a[ch] * (1.0 - wx) + (double)b[ch] * wx;
      double bot = (double)c[ch] * (1.0 - wx) + (double)d[ch] * wx;
      out[ch] = round_pos(top * (1.0 - wy) + bot * wy);
    }
  }
  for (int ch = 0; ch < 3; ch++) {
    int oc = 2 - ch;  // BGR: tensor channel 0 is blue
    float v = (float)out[ch];
    if (p.norm) v = (v - p.mean[oc]) * p.scale[oc];
    dst[(long)oc * plane + i] = v;
  }
}
