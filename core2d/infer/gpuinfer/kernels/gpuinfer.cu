// gpuinfer.cu -- device code of package gpuinfer: the kernels a compiled
// ONNX plan launches (NCHW float32 activations). gen-ptx.sh compiles it with
// clang-16 to gpuinfer.ptx (sm_80 PTX; the driver JIT-compiles it for sm_90).
//
// Every activation tensor is addressed per image as base + n*bs, where bs
// (the batch stride, in elements) may exceed the image's own size: a tensor
// that is one input of a Concat is written straight into its channel block
// of the Concat's output, so no Concat copy runs.
//
// Convolutions with group 1 are implicit GEMMs: M = Cout, N = B*OH*OW,
// K = Cin*KH*KW, 64x64x16 tiles, 128 threads, register prefetch of the next
// K tile. Three variants differ only in the inner product:
//   conv_f32   plain fp32 FMA (exact fp32, like the CPU engine)
//   conv_tf32  mma.sync.aligned.m16n8k8 TF32 tensor cores, fp32 accumulate
//   conv_f16   mma.sync.aligned.m16n8k16 FP16 tensor cores, fp32 accumulate
// Bias, the activation (none, Sigmoid, SiLU) and an optional residual add
// (ONNX Add after the activation) are applied in the epilogue.
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __attribute__((always_inline)) inline
#define __launch_bounds__(n) __attribute__((launch_bounds(n)))

typedef unsigned long long u64;
struct __attribute__((aligned(16))) f4 { float x, y, z, w; };
struct __attribute__((aligned(16))) u4 { unsigned x, y, z, w; };

#define ACT_NONE 0
#define ACT_SIGMOID 1
#define ACT_SILU 2

static __device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
static __device__ __forceinline__ float rcp(float x) {
  float y;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
static __device__ __forceinline__ float sigmoidf(float x) {
  return rcp(1.0f + ex2(-x * 1.4426950408889634f));
}
static __device__ __forceinline__ float act(float x, int a) {
  if (a == ACT_SIGMOID) return sigmoidf(x);
  if (a == ACT_SILU) return x * sigmoidf(x);
  return x;
}
static __device__ __forceinline__ unsigned to_tf32(float x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}
// pack_h2 packs lo (the lower K index) into the low half.
static __device__ __forceinline__ unsigned pack_h2(float lo, float hi) {
  unsigned r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

#define BM 64
#define BN 64
#define BK 16
#define NT 128

struct ConvArgs {
  const float* x; int xbs;
  const void* w;          // [Mpad][Kpad], fp32 or fp16, zero padded
  const float* bias;      // [Mpad]
  float* y; int ybs;
  const float* res; int rbs;  // residual (may be null)
  int cin, h, w_, cout, oh, ow, kh, kw, sh, sw, ph, pw;
  int ncols;              // B*OH*OW
  int k;                  // Cin*KH*KW
  int kpad;
  int act;
};

// Column state: which image and output pixel a thread's B-tile column is.
struct Col {
  const float* xn;  // image base (null when the column is past the end)
  int p, oy, ox;
};

template <bool PW>
static __device__ __forceinline__ Col col_of(const ConvArgs& a, int col) {
  Col c;
  int P = a.oh * a.ow;
  if (col >= a.ncols) { c.xn = 0; c.p = c.oy = c.ox = 0; return c; }
  int n = col / P;
  c.p = col - n * P;
  c.xn = a.x + (u64)n * a.xbs;
  if (!PW) { c.oy = c.p / a.ow; c.ox = c.p - c.oy * a.ow; } else { c.oy = c.ox = 0; }
  return c;
}

template <bool PW>
static __device__ __forceinline__ float load_x(const ConvArgs& a, const Col& c, int k) {
  if (c.xn == 0 || k >= a.k) return 0.0f;
  if (PW) return c.xn[(u64)k * (a.h * a.w_) + c.p];
  int khw = a.kh * a.kw;
  int ci = k / khw, r = k - ci * khw;
  int ky = r / a.kw, kx = r - ky * a.kw;
  int iy = c.oy * a.sh - a.ph + ky, ix = c.ox * a.sw - a.pw + kx;
  if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.w_) return 0.0f;
  return c.xn[((u64)ci * a.h + iy) * a.w_ + ix];
}

// OutCol is where a column (image n, pixel p) lands in y and res: the
// division by P is done once per column, not per accumulator.
struct OutCol { long long yo, ro; int ok; };
static __device__ __forceinline__ OutCol out_col(const ConvArgs& a, int col) {
  OutCol o;
  int P = a.oh * a.ow;
  o.ok = col < a.ncols;
  int n = o.ok ? col / P : 0, p = col - n * P;
  o.yo = (long long)n * a.ybs + p;
  o.ro = (long long)n * a.rbs + p;
  return o;
}

// store_out applies bias, activation and residual to one accumulator of
// row m (output channel) and stores it.
static __device__ __forceinline__ void store_out(const ConvArgs& a, int m, const OutCol& c, float v) {
  if (m >= a.cout || !c.ok) return;
  long long mp = (long long)m * (a.oh * a.ow);
  v = act(v + a.bias[m], a.act);
  if (a.res) v += a.res[c.ro + mp];
  a.y[c.yo + mp] = v;
}

// ---------------------------------------------------------------- fp32 FMA
template <bool PW>
static __device__ __forceinline__ void conv_f32_body(const ConvArgs& a) {
  __shared__ __attribute__((aligned(16))) float As[BK][BM + 4];
  __shared__ __attribute__((aligned(16))) float Bs[BK][BN + 4];
  int tid = threadIdx.x;
  int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const float* W = (const float*)a.w;
  // A loader: row am, 8 consecutive k from ak.
  int am = tid >> 1, ak = (tid & 1) * 8;
  // B loader: column bc, rows bk + 2i.
  int bc = tid & 63, bk = tid >> 6;
  Col col = col_of<PW>(a, n0 + bc);
  f4 ra0, ra1;
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    const f4* wp = (const f4*)(W + (u64)(m0 + am) * a.kpad + kt * BK + ak);
    ra0 = wp[0]; ra1 = wp[1];
#pragma unroll
    for (int i = 0; i < 8; i++) rb[i] = load_x<PW>(a, col, kt * BK + bk + 2 * i);
  };
  float acc[8][4];
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  int tm = tid >> 4, tn = tid & 15;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
    As[ak + 0][am] = ra0.x; As[ak + 1][am] = ra0.y; As[ak + 2][am] = ra0.z; As[ak + 3][am] = ra0.w;
    As[ak + 4][am] = ra1.x; As[ak + 5][am] = ra1.y; As[ak + 6][am] = ra1.z; As[ak + 7][am] = ra1.w;
#pragma unroll
    for (int i = 0; i < 8; i++) Bs[bk + 2 * i][bc] = rb[i];
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      f4 a0 = *(const f4*)&As[kk][tm * 8];
      f4 a1 = *(const f4*)&As[kk][tm * 8 + 4];
      f4 b = *(const f4*)&Bs[kk][tn * 4];
      float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = __builtin_fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  OutCol oc[4];
#pragma unroll
  for (int j = 0; j < 4; j++) oc[j] = out_col(a, n0 + tn * 4 + j);
#pragma unroll
  for (int i = 0; i < 8; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) store_out(a, m0 + tm * 8 + i, oc[j], acc[i][j]);
}

// ---------------------------------------------------------------- TF32 mma
template <bool PW>
static __device__ __forceinline__ void conv_tf32_body(const ConvArgs& a) {
  __shared__ unsigned As[BK][BM + 8];
  __shared__ unsigned Bs[BK][BN + 8];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, t = lane & 3;
  int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const float* W = (const float*)a.w;
  int am = tid >> 1, ak = (tid & 1) * 8;
  int bc = tid & 63, bk = tid >> 6;
  Col col = col_of<PW>(a, n0 + bc);
  f4 ra0, ra1;
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    const f4* wp = (const f4*)(W + (u64)(m0 + am) * a.kpad + kt * BK + ak);
    ra0 = wp[0]; ra1 = wp[1];
#pragma unroll
    for (int i = 0; i < 8; i++) rb[i] = load_x<PW>(a, col, kt * BK + bk + 2 * i);
  };
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
    As[ak + 0][am] = to_tf32(ra0.x); As[ak + 1][am] = to_tf32(ra0.y);
    As[ak + 2][am] = to_tf32(ra0.z); As[ak + 3][am] = to_tf32(ra0.w);
    As[ak + 4][am] = to_tf32(ra1.x); As[ak + 5][am] = to_tf32(ra1.y);
    As[ak + 6][am] = to_tf32(ra1.z); As[ak + 7][am] = to_tf32(ra1.w);
#pragma unroll
    for (int i = 0; i < 8; i++) Bs[bk + 2 * i][bc] = to_tf32(rb[i]);
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      unsigned af[2][4], bf[4][2];
#pragma unroll
      for (int mt = 0; mt < 2; mt++) {
        int r = wm + mt * 16 + g;
        af[mt][0] = As[kk + t][r];
        af[mt][1] = As[kk + t][r + 8];
        af[mt][2] = As[kk + t + 4][r];
        af[mt][3] = As[kk + t + 4][r + 8];
      }
#pragma unroll
      for (int nt = 0; nt < 4; nt++) {
        int c = wn + nt * 8 + g;
        bf[nt][0] = Bs[kk + t][c];
        bf[nt][1] = Bs[kk + t + 4][c];
      }
#pragma unroll
      for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++) {
          float* d = acc[mt][nt];
          asm volatile(
              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
              : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
              : "r"(af[mt][0]), "r"(af[mt][1]), "r"(af[mt][2]), "r"(af[mt][3]), "r"(bf[nt][0]), "r"(bf[nt][1]));
        }
    }
    __syncthreads();
  }
  OutCol oc[4][2];
#pragma unroll
  for (int nt = 0; nt < 4; nt++) {
    oc[nt][0] = out_col(a, n0 + wn + nt * 8 + 2 * t);
    oc[nt][1] = out_col(a, n0 + wn + nt * 8 + 2 * t + 1);
  }
#pragma unroll
  for (int mt = 0; mt < 2; mt++)
#pragma unroll
    for (int nt = 0; nt < 4; nt++) {
      int r = m0 + wm + mt * 16 + g;
      store_out(a, r, oc[nt][0], acc[mt][nt][0]);
      store_out(a, r, oc[nt][1], acc[mt][nt][1]);
      store_out(a, r + 8, oc[nt][0], acc[mt][nt][2]);
      store_out(a, r + 8, oc[nt][1], acc[mt][nt][3]);
    }
}

// ---------------------------------------------------------------- FP16 mma
// Shared tiles hold K pairs: As[kp][m] packs A[m][2kp] (low) and A[m][2kp+1].
template <bool PW>
static __device__ __forceinline__ void conv_f16_body(const ConvArgs& a) {
  __shared__ unsigned As[BK / 2][BM + 8];
  __shared__ unsigned Bs[BK / 2][BN + 8];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, t = lane & 3;
  int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const unsigned short* W = (const unsigned short*)a.w;
  int am = tid >> 1, ak = (tid & 1) * 8;   // 8 halves = 4 pairs
  int bc = tid & 63, bp = tid >> 6;        // pairs bp + 2i, i < 4
  Col col = col_of<PW>(a, n0 + bc);
  u4 ra;
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    ra = *(const u4*)(W + (u64)(m0 + am) * a.kpad + kt * BK + ak);
#pragma unroll
    for (int i = 0; i < 4; i++) {
      int k = kt * BK + 2 * (bp + 2 * i);
      rb[2 * i] = load_x<PW>(a, col, k);
      rb[2 * i + 1] = load_x<PW>(a, col, k + 1);
    }
  };
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
    int kp = ak / 2;
    As[kp + 0][am] = ra.x; As[kp + 1][am] = ra.y; As[kp + 2][am] = ra.z; As[kp + 3][am] = ra.w;
#pragma unroll
    for (int i = 0; i < 4; i++) Bs[bp + 2 * i][bc] = pack_h2(rb[2 * i], rb[2 * i + 1]);
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
    unsigned af[2][4], bf[4][2];
#pragma unroll
    for (int mt = 0; mt < 2; mt++) {
      int r = wm + mt * 16 + g;
      af[mt][0] = As[t][r];
      af[mt][1] = As[t][r + 8];
      af[mt][2] = As[t + 4][r];
      af[mt][3] = As[t + 4][r + 8];
    }
#pragma unroll
    for (int nt = 0; nt < 4; nt++) {
      int c = wn + nt * 8 + g;
      bf[nt][0] = Bs[t][c];
      bf[nt][1] = Bs[t + 4][c];
    }
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
      for (int nt = 0; nt < 4; nt++) {
        float* d = acc[mt][nt];
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(af[mt][0]), "r"(af[mt][1]), "r"(af[mt][2]), "r"(af[mt][3]), "r"(bf[nt][0]), "r"(bf[nt][1]));
      }
    __syncthreads();
  }
  OutCol oc[4][2];
#pragma unroll
  for (int nt = 0; nt < 4; nt++) {
    oc[nt][0] = out_col(a, n0 + wn + nt * 8 + 2 * t);
    oc[nt][1] = out_col(a, n0 + wn + nt * 8 + 2 * t + 1);
  }
#pragma unroll
  for (int mt = 0; mt < 2; mt++)
#pragma unroll
    for (int nt = 0; nt < 4; nt++) {
      int r = m0 + wm + mt * 16 + g;
      store_out(a, r, oc[nt][0], acc[mt][nt][0]);
      store_out(a, r, oc[nt][1], acc[mt][nt][1]);
      store_out(a, r + 8, oc[nt][0], acc[mt][nt][2]);
      store_out(a, r + 8, oc[nt][1], acc[mt][nt][3]);
    }
}

#define CONV_PARAMS                                                                         \
  const float *x, int xbs, const void *w, const float *bias, float *y, int ybs,            \
      const float *res, int rbs, int cin, int h, int w_, int cout, int oh, int ow, int kh, \
      int kw, int sh, int sw, int ph, int pw, int ncols, int k, int kpad, int act_
#define CONV_ARGS                                                                          \
  ConvArgs a = {x, xbs, w, bias, y, ybs, res, rbs, cin, h, w_, cout, oh, ow, kh, kw, sh, sw, \
                ph, pw, ncols, k, kpad, act_}

extern "C" __global__ void __launch_bounds__(NT) conv_f32(CONV_PARAMS) { CONV_ARGS; conv_f32_body<false>(a); }
extern "C" __global__ void __launch_bounds__(NT) conv_f32_pw(CONV_PARAMS) { CONV_ARGS; conv_f32_body<true>(a); }
extern "C" __global__ void __launch_bounds__(NT) conv_tf32(CONV_PARAMS) { CONV_ARGS; conv_tf32_body<false>(a); }
extern "C" __global__ void __launch_bounds__(NT) conv_tf32_pw(CONV_PARAMS) { CONV_ARGS; conv_tf32_body<true>(a); }
extern "C" __global__ void __launch_bounds__(NT) conv_f16(CONV_PARAMS) { CONV_ARGS; conv_f16_body<false>(a); }
extern "C" __global__ void __launch_bounds__(NT) conv_f16_pw(CONV_PARAMS) { CONV_ARGS; conv_f16_body<true>(a); }

// ---------------------------------------------------------------- depthwise
// One thread per output element; w is [C][KH*KW] fp32.
extern "C" __global__ void dwconv(const float* x, int xbs, const float* w, const float* bias, float* y, int ybs,
                                  const float* res, int rbs, int C, int H, int W, int OH, int OW, int KH, int KW,
                                  int sh, int sw, int ph, int pw, int total, int act_) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;  // grid: (pixels, C, B)
  if (i >= OH * OW) return;
  int oy = i / OW, ox = i - oy * OW;
  int c = blockIdx.y, n = blockIdx.z;
  const float* xc = x + (u64)n * xbs + (u64)c * H * W;
  const float* wc = w + c * KH * KW;
  float s = 0.0f;
  int iy0 = oy * sh - ph, ix0 = ox * sw - pw;
  for (int ky = 0; ky < KH; ky++) {
    int iy = iy0 + ky;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; kx++) {
      int ix = ix0 + kx;
      if (ix < 0 || ix >= W) continue;
      s = __builtin_fmaf(xc[iy * W + ix], wc[ky * KW + kx], s);
    }
  }
  float v = act(s + bias[c], act_);
  u64 o = (u64)c * OH * OW + (u64)oy * OW + ox;
  if (res) v += res[(u64)n * rbs + o];
  y[(u64)n * ybs + o] = v;
}

// ---------------------------------------------------------------- pooling
extern "C" __global__ void maxpool(const float* x, int xbs, float* y, int ybs, int C, int H, int W, int OH, int OW,
                                   int KH, int KW, int sh, int sw, int ph, int pw, int total) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;  // grid: (pixels, C, B)
  if (i >= OH * OW) return;
  int oy = i / OW, ox = i - oy * OW;
  int c = blockIdx.y, n = blockIdx.z;
  const float* xc = x + (u64)n * xbs + (u64)c * H * W;
  float m = -__builtin_inff();
  int iy0 = oy * sh - ph, ix0 = ox * sw - pw;
  for (int ky = 0; ky < KH; ky++) {
    int iy = iy0 + ky;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; kx++) {
      int ix = ix0 + kx;
      if (ix < 0 || ix >= W) continue;
      float v = xc[iy * W + ix];
      m = v > m ? v : m;
    }
  }
  y[(u64)n * ybs + (u64)c * OH * OW + (u64)oy * OW + ox] = m;
}

// Nearest-neighbour Resize of the two last axes; iy/ix are the source row
// and column of each output row and column (tables made on the host with
// the node's coordinate transformation and rounding modes).
extern "C" __global__ void resize_nearest(const float* x, int xbs, float* y, int ybs, int C, int H, int W, int OH,
                                          int OW, const int* iy, const int* ix, int total) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;  // grid: (pixels, C, B)
  if (i >= OH * OW) return;
  int oy = i / OW, ox = i - oy * OW;
  int c = blockIdx.y, n = blockIdx.z;
  y[(u64)n * ybs + (u64)c * OH * OW + (u64)oy * OW + ox] = x[(u64)n * xbs + (u64)c * H * W + iy[oy] * W + ix[ox]];
}

// ---------------------------------------------------------------- data movement
// gather4 copies a [B][D1][D2][D3] index space: y[n*ybs + yoff + i1*ys1 +
// i2*ys2 + i3] = x[n*xbs + xoff + i1*xs1 + i2*xs2 + i3*xs3]. Slice,
// Transpose, and a Concat input that could not be written in place are all
// this copy with different strides.
extern "C" __global__ void gather4(const float* x, int xbs, int xoff, int xs1, int xs2, int xs3, float* y, int ybs,
                                   int yoff, int ys1, int ys2, int D1, int D2, int D3, int total) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  int i3 = i % D3, r = i / D3;
  int i2 = r % D2; r /= D2;
  int i1 = r % D1, n = r / D1;
  y[(u64)n * ybs + yoff + (u64)i1 * ys1 + (u64)i2 * ys2 + i3] =
      x[(u64)n * xbs + xoff + (long long)i1 * xs1 + (long long)i2 * xs2 + (long long)i3 * xs3];
}

#define EW_ADD 0
#define EW_MUL 1
#define EW_SUB 2
#define EW_SIGMOID 3
// ew applies a binary (or, with b unused, unary) op over per elements of
// each of the B images.
extern "C" __global__ void ew(const float* a, int abs_, const float* b, int bbs, float* y, int ybs, int per,
                              int total, int op) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  int n = i / per, j = i - n * per;
  float u = a[(u64)n * abs_ + j], v = 0.0f, r;
  if (op != EW_SIGMOID) v = b[(u64)n * bbs + j];
  switch (op) {
    case EW_ADD: r = u + v; break;
    case EW_MUL: r = u * v; break;
    case EW_SUB: r = u - v; break;
    default: r = sigmoidf(u); break;
  }
  y[(u64)n * ybs + j] = r;
}
