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
// K = Cin*KH*KW, BMx64x16 tiles (BM = 16, 32 or 64, picked per layer by the
// planner), 128 threads, register prefetch of the next K tile. The variants
// differ only in the inner product:
//   conv_f32       plain fp32 FMA (exact fp32, like the CPU engine)
//   conv_tf32      3xTF32: mma.sync.aligned.m16n8k8 TF32 on hi/lo operand
//                  splits (a_hi*b_hi + a_hi*b_lo + a_lo*b_hi), fp32 accumulate
//   conv_tf32fast  one TF32 mma per product (operands rounded to 10 bits)
//   conv_f16       mma.sync.aligned.m16n8k16 FP16, fp32 accumulate
// conv_direct handles a dense convolution with few output channels (the
// stem) without im2col. Bias, the activation (none, Sigmoid, SiLU) and an
// optional residual add (ONNX Add after the activation) are applied in the
// epilogue of every convolution kernel.
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

// Tiles: BM (output channels) x 64 (columns) x 16 (K), 128 threads. BM is a
// template parameter (16, 32 or 64): the planner picks the smallest that
// holds Cout, so a 16-channel layer does not pad its rows to 64.
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

// tile_origin: the grid is one-dimensional, M tiles fastest, so the CTAs
// sharing a column tile (same B operand) run together and the second and
// later ones read it from L2 rather than DRAM.
template <int BM>
static __device__ __forceinline__ void tile_origin(const ConvArgs& a, int& m0, int& n0) {
  int mt = (a.cout + BM - 1) / BM;
  int b = blockIdx.x;
  int nt = b / mt;
  m0 = (b - nt * mt) * BM;
  n0 = nt * BN;
}

static __device__ __forceinline__ float as_f(unsigned u) { return __builtin_bit_cast(float, u); }
static __device__ __forceinline__ unsigned as_u(float f) { return __builtin_bit_cast(unsigned, f); }

// The A (weights) loader: BM*BK elements, AE = BM/8 per thread, 128/BM
// threads per row.
template <int BM>
struct ALoad {
  static constexpr int AE = BM / 8;
  int am, ak;
  __device__ __forceinline__ ALoad(int tid) : am(tid / (NT / BM)), ak((tid % (NT / BM)) * AE) {}
};

// ---------------------------------------------------------------- fp32 FMA
// Thread tile: BM/8 rows x 4 columns.
template <bool PW, int BM>
static __device__ __forceinline__ void conv_f32_body(const ConvArgs& a) {
  constexpr int TR = BM / 8;
  __shared__ __attribute__((aligned(16))) float As[BK][BM + 4];
  __shared__ __attribute__((aligned(16))) float Bs[BK][BN + 4];
  int tid = threadIdx.x;
  int m0, n0;
  tile_origin<BM>(a, m0, n0);
  const float* W = (const float*)a.w;
  ALoad<BM> al(tid);
  int bc = tid & 63, bk = tid >> 6;
  Col col = col_of<PW>(a, n0 + bc);
  float ra[TR];
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    const float* wp = W + (u64)(m0 + al.am) * a.kpad + kt * BK + al.ak;
#pragma unroll
    for (int i = 0; i < TR; i++) ra[i] = wp[i];
#pragma unroll
    for (int i = 0; i < 8; i++) rb[i] = load_x<PW>(a, col, kt * BK + bk + 2 * i);
  };
  float acc[TR][4];
#pragma unroll
  for (int i = 0; i < TR; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  int tm = tid >> 4, tn = tid & 15;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
#pragma unroll
    for (int i = 0; i < TR; i++) As[al.ak + i][al.am] = ra[i];
#pragma unroll
    for (int i = 0; i < 8; i++) Bs[bk + 2 * i][bc] = rb[i];
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float av[TR];
#pragma unroll
      for (int i = 0; i < TR; i++) av[i] = As[kk][tm * TR + i];
      f4 b = *(const f4*)&Bs[kk][tn * 4];
      float bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < TR; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = __builtin_fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  OutCol oc[4];
#pragma unroll
  for (int j = 0; j < 4; j++) oc[j] = out_col(a, n0 + tn * 4 + j);
#pragma unroll
  for (int i = 0; i < TR; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) store_out(a, m0 + tm * TR + i, oc[j], acc[i][j]);
}

// Warp layout of the tensor-core kernels: 4 warps as WM x WN, each warp a
// (BM/WM) x (64/WN) tile of MT x NL mma tiles (16 x 8).
template <int BM>
struct WarpTile {
  static constexpr int WM = BM >= 64 ? 2 : 1;
  static constexpr int WN = 4 / WM;
  static constexpr int TM = BM / WM;
  static constexpr int TN = BN / WN;
  static constexpr int MT = TM / 16;
  static constexpr int NL = TN / 8;
};

static __device__ __forceinline__ void mma_tf32(float* d, const unsigned* a, const unsigned* b) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// split3 writes x = hi + lo with hi and lo both TF32 (3xTF32): hi keeps
// the top 10 mantissa bits (rounded), lo the next ones, so hi*hi + hi*lo +
// lo*hi carries about 21 bits of each operand.
static __device__ __forceinline__ void split3(unsigned x, unsigned& hi, unsigned& lo) {
  hi = to_tf32(as_f(x)) & 0xffffe000u;
  lo = to_tf32(as_f(x) - as_f(hi));
}

// ---------------------------------------------------------------- TF32 mma
// SPLIT: 3xTF32 (operands kept as fp32 in shared memory, split into hi+lo
// TF32 pairs at fragment load, three mma per product: near-fp32 accuracy).
template <bool PW, int BM, bool SPLIT>
static __device__ __forceinline__ void conv_tf32_body(const ConvArgs& a) {
  typedef WarpTile<BM> WT;
  constexpr int TR = BM / 8;
  __shared__ unsigned As[BK][BM + 8];
  __shared__ unsigned Bs[BK][BN + 8];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, t = lane & 3;
  int wm = (warp / WT::WN) * WT::TM, wn = (warp % WT::WN) * WT::TN;
  int m0, n0;
  tile_origin<BM>(a, m0, n0);
  const float* W = (const float*)a.w;
  ALoad<BM> al(tid);
  int bc = tid & 63, bk = tid >> 6;
  Col col = col_of<PW>(a, n0 + bc);
  float ra[TR];
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    const float* wp = W + (u64)(m0 + al.am) * a.kpad + kt * BK + al.ak;
#pragma unroll
    for (int i = 0; i < TR; i++) ra[i] = wp[i];
#pragma unroll
    for (int i = 0; i < 8; i++) rb[i] = load_x<PW>(a, col, kt * BK + bk + 2 * i);
  };
  float acc[WT::MT][WT::NL][4];
#pragma unroll
  for (int i = 0; i < WT::MT; i++)
#pragma unroll
    for (int j = 0; j < WT::NL; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
#pragma unroll
    for (int i = 0; i < TR; i++) As[al.ak + i][al.am] = SPLIT ? as_u(ra[i]) : to_tf32(ra[i]);
#pragma unroll
    for (int i = 0; i < 8; i++) Bs[bk + 2 * i][bc] = SPLIT ? as_u(rb[i]) : to_tf32(rb[i]);
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      unsigned af[WT::MT][4], bf[WT::NL][2];
#pragma unroll
      for (int mt = 0; mt < WT::MT; mt++) {
        int r = wm + mt * 16 + g;
        af[mt][0] = As[kk + t][r];
        af[mt][1] = As[kk + t][r + 8];
        af[mt][2] = As[kk + t + 4][r];
        af[mt][3] = As[kk + t + 4][r + 8];
      }
#pragma unroll
      for (int nt = 0; nt < WT::NL; nt++) {
        int c = wn + nt * 8 + g;
        bf[nt][0] = Bs[kk + t][c];
        bf[nt][1] = Bs[kk + t + 4][c];
      }
      if (SPLIT) {
        unsigned al_[WT::MT][4], bl[WT::NL][2];
#pragma unroll
        for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
          for (int r = 0; r < 4; r++) split3(af[mt][r], af[mt][r], al_[mt][r]);
#pragma unroll
        for (int nt = 0; nt < WT::NL; nt++)
#pragma unroll
          for (int r = 0; r < 2; r++) split3(bf[nt][r], bf[nt][r], bl[nt][r]);
#pragma unroll
        for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
          for (int nt = 0; nt < WT::NL; nt++) {
            mma_tf32(acc[mt][nt], al_[mt], bf[nt]);
            mma_tf32(acc[mt][nt], af[mt], bl[nt]);
          }
      }
#pragma unroll
      for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
        for (int nt = 0; nt < WT::NL; nt++) mma_tf32(acc[mt][nt], af[mt], bf[nt]);
    }
    __syncthreads();
  }
  OutCol oc[WT::NL][2];
#pragma unroll
  for (int nt = 0; nt < WT::NL; nt++) {
    oc[nt][0] = out_col(a, n0 + wn + nt * 8 + 2 * t);
    oc[nt][1] = out_col(a, n0 + wn + nt * 8 + 2 * t + 1);
  }
#pragma unroll
  for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
    for (int nt = 0; nt < WT::NL; nt++) {
      int r = m0 + wm + mt * 16 + g;
      store_out(a, r, oc[nt][0], acc[mt][nt][0]);
      store_out(a, r, oc[nt][1], acc[mt][nt][1]);
      store_out(a, r + 8, oc[nt][0], acc[mt][nt][2]);
      store_out(a, r + 8, oc[nt][1], acc[mt][nt][3]);
    }
}

// ---------------------------------------------------------------- FP16 mma
// Shared tiles hold K pairs: As[kp][m] packs A[m][2kp] (low) and A[m][2kp+1].
template <bool PW, int BM>
static __device__ __forceinline__ void conv_f16_body(const ConvArgs& a) {
  typedef WarpTile<BM> WT;
  constexpr int TP = BM / 16;  // K pairs of A per thread
  __shared__ unsigned As[BK / 2][BM + 8];
  __shared__ unsigned Bs[BK / 2][BN + 8];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  int g = lane >> 2, t = lane & 3;
  int wm = (warp / WT::WN) * WT::TM, wn = (warp % WT::WN) * WT::TN;
  int m0, n0;
  tile_origin<BM>(a, m0, n0);
  const unsigned short* W = (const unsigned short*)a.w;
  ALoad<BM> al(tid);                       // al.ak halves, BM/8 of them
  int bc = tid & 63, bp = tid >> 6;        // pairs bp + 2i, i < 4
  Col col = col_of<PW>(a, n0 + bc);
  unsigned ra[TP];
  float rb[8];
  int ntiles = a.kpad / BK;
  auto load = [&](int kt) __attribute__((always_inline)) {
    const unsigned* wp = (const unsigned*)(W + (u64)(m0 + al.am) * a.kpad + kt * BK + al.ak);
#pragma unroll
    for (int i = 0; i < TP; i++) ra[i] = wp[i];
#pragma unroll
    for (int i = 0; i < 4; i++) {
      int k = kt * BK + 2 * (bp + 2 * i);
      rb[2 * i] = load_x<PW>(a, col, k);
      rb[2 * i + 1] = load_x<PW>(a, col, k + 1);
    }
  };
  float acc[WT::MT][WT::NL][4];
#pragma unroll
  for (int i = 0; i < WT::MT; i++)
#pragma unroll
    for (int j = 0; j < WT::NL; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
  load(0);
  for (int kt = 0; kt < ntiles; kt++) {
    int kp = al.ak / 2;
#pragma unroll
    for (int i = 0; i < TP; i++) As[kp + i][al.am] = ra[i];
#pragma unroll
    for (int i = 0; i < 4; i++) Bs[bp + 2 * i][bc] = pack_h2(rb[2 * i], rb[2 * i + 1]);
    __syncthreads();
    if (kt + 1 < ntiles) load(kt + 1);
    unsigned af[WT::MT][4], bf[WT::NL][2];
#pragma unroll
    for (int mt = 0; mt < WT::MT; mt++) {
      int r = wm + mt * 16 + g;
      af[mt][0] = As[t][r];
      af[mt][1] = As[t][r + 8];
      af[mt][2] = As[t + 4][r];
      af[mt][3] = As[t + 4][r + 8];
    }
#pragma unroll
    for (int nt = 0; nt < WT::NL; nt++) {
      int c = wn + nt * 8 + g;
      bf[nt][0] = Bs[t][c];
      bf[nt][1] = Bs[t + 4][c];
    }
#pragma unroll
    for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
      for (int nt = 0; nt < WT::NL; nt++) {
        float* d = acc[mt][nt];
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(af[mt][0]), "r"(af[mt][1]), "r"(af[mt][2]), "r"(af[mt][3]), "r"(bf[nt][0]), "r"(bf[nt][1]));
      }
    __syncthreads();
  }
  OutCol oc[WT::NL][2];
#pragma unroll
  for (int nt = 0; nt < WT::NL; nt++) {
    oc[nt][0] = out_col(a, n0 + wn + nt * 8 + 2 * t);
    oc[nt][1] = out_col(a, n0 + wn + nt * 8 + 2 * t + 1);
  }
#pragma unroll
  for (int mt = 0; mt < WT::MT; mt++)
#pragma unroll
    for (int nt = 0; nt < WT::NL; nt++) {
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

// Entry points: conv_<precision>[_pw]_m<BM>. The im2col variants (any
// kernel, stride, padding) exist with BM 64 only: small dense convolutions
// go to conv_direct.
#define CONV_ENTRY(name, body)                                                                  \
  extern "C" __global__ void __launch_bounds__(NT) name(CONV_PARAMS) { CONV_ARGS; body(a); }
CONV_ENTRY(conv_f32_m64, (conv_f32_body<false, 64>))
CONV_ENTRY(conv_f32_pw_m64, (conv_f32_body<true, 64>))
CONV_ENTRY(conv_f32_pw_m32, (conv_f32_body<true, 32>))
CONV_ENTRY(conv_f32_pw_m16, (conv_f32_body<true, 16>))
CONV_ENTRY(conv_tf32_m64, (conv_tf32_body<false, 64, true>))
CONV_ENTRY(conv_tf32_pw_m64, (conv_tf32_body<true, 64, true>))
CONV_ENTRY(conv_tf32_pw_m32, (conv_tf32_body<true, 32, true>))
CONV_ENTRY(conv_tf32_pw_m16, (conv_tf32_body<true, 16, true>))
CONV_ENTRY(conv_tf32fast_m64, (conv_tf32_body<false, 64, false>))
CONV_ENTRY(conv_tf32fast_pw_m64, (conv_tf32_body<true, 64, false>))
CONV_ENTRY(conv_tf32fast_pw_m32, (conv_tf32_body<true, 32, false>))
CONV_ENTRY(conv_tf32fast_pw_m16, (conv_tf32_body<true, 16, false>))
CONV_ENTRY(conv_f16_m64, (conv_f16_body<false, 64>))
CONV_ENTRY(conv_f16_pw_m64, (conv_f16_body<true, 64>))
CONV_ENTRY(conv_f16_pw_m32, (conv_f16_body<true, 32>))
CONV_ENTRY(conv_f16_pw_m16, (conv_f16_body<true, 16>))

// ---------------------------------------------------------------- direct conv
// conv_direct: a dense convolution with few output channels (the YOLOX stem:
// 12 -> 16 channels, 3x3, K = 108), where an implicit GEMM would gather
// im2col element by element for only 16 products each. One thread computes
// 16 channels (blockIdx.y picks which 16) of two output pixels (p and
// p + 256: each weight read serves 32 FMAs) in exact fp32; the weights sit
// in shared memory as [K][16], read as broadcasts. conv_direct3 is the same
// with the 3x3 window unrolled. w is [Mpad16][k] fp32.
// grid: (pixels/512, Mpad/16, B).
#define DIRECT_KMAX 512
template <int KS>
static __device__ __forceinline__ void conv_direct_body(const ConvArgs& a) {
  __shared__ __attribute__((aligned(16))) float ws[DIRECT_KMAX * 16];
  int m0 = blockIdx.y * 16;
  const float* W = (const float*)a.w + (u64)m0 * a.k;
  for (int i = threadIdx.x; i < 16 * a.k; i += 256) {
    int m = i / a.k, kk = i - m * a.k;
    ws[kk * 16 + m] = W[i];
  }
  __syncthreads();
  int P = a.oh * a.ow;
  int p0 = blockIdx.x * 512 + threadIdx.x;
  if (p0 >= P) return;
  int n = blockIdx.z;
  bool ok[2];
  int iy0[2], ix0[2];
#pragma unroll
  for (int q = 0; q < 2; q++) {
    int p = p0 + q * 256;
    ok[q] = p < P;
    if (!ok[q]) p = p0;
    int oy = p / a.ow, ox = p - oy * a.ow;
    iy0[q] = oy * a.sh - a.ph;
    ix0[q] = ox * a.sw - a.pw;
  }
  const int kh = KS ? KS : a.kh, kw = KS ? KS : a.kw;
  const float* xn = a.x + (u64)n * a.xbs;
  float acc[2][16];
#pragma unroll
  for (int q = 0; q < 2; q++)
#pragma unroll
    for (int m = 0; m < 16; m++) acc[q][m] = 0.0f;
  const f4* wv = (const f4*)ws;
  for (int ci = 0; ci < a.cin; ci++) {
    const float* xc = xn + (u64)ci * a.h * a.w_;
    // KS = 3: constant trip counts, fully unrolled by the optimiser.
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++, wv += 4) {
        f4 w0 = wv[0], w1 = wv[1], w2 = wv[2], w3 = wv[3];
        float wr[16] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w, w2.x, w2.y, w2.z, w2.w, w3.x, w3.y, w3.z, w3.w};
#pragma unroll
        for (int q = 0; q < 2; q++) {
          int iy = iy0[q] + ky, ix = ix0[q] + kx;
          float v = (iy >= 0 && iy < a.h && ix >= 0 && ix < a.w_) ? xc[iy * a.w_ + ix] : 0.0f;
#pragma unroll
          for (int m = 0; m < 16; m++) acc[q][m] = __builtin_fmaf(v, wr[m], acc[q][m]);
        }
      }
    }
  }
#pragma unroll
  for (int q = 0; q < 2; q++) {
    if (!ok[q]) continue;
    int p = p0 + q * 256;
#pragma unroll
    for (int m = 0; m < 16; m++) {
      int c = m0 + m;
      if (c < a.cout) {
        float v = act(acc[q][m] + a.bias[c], a.act);
        u64 o = (u64)c * P + p;
        if (a.res) v += a.res[(u64)n * a.rbs + o];
        a.y[(u64)n * a.ybs + o] = v;
      }
    }
  }
}
extern "C" __global__ void __launch_bounds__(256) conv_direct(CONV_PARAMS) { CONV_ARGS; conv_direct_body<0>(a); }
extern "C" __global__ void __launch_bounds__(256) conv_direct3(CONV_PARAMS) { CONV_ARGS; conv_direct_body<3>(a); }

// dwconv3_s<S>: the 3x3 depthwise convolution with stride S (1 or 2), the
// only ones YOLOX has. One thread computes 4 horizontally adjacent outputs
// from one 3 x (3S+3) window of registers: 18 (S=1) or 27 (S=2) loads for 4
// outputs instead of 36, and the 9 weights are loaded once per 4 outputs.
// grid: (ceil(OH*ceil(OW/4)/256), C, B).
template <int S>
static __device__ __forceinline__ void dwconv3_body(const float* x, int xbs, const float* w, const float* bias, float* y,
                                                    int ybs, const float* res, int rbs, int H, int W, int OH, int OW,
                                                    int ph, int pw, int act_) {
  constexpr int NC = 3 * S + 3;
  int owq = (OW + 3) >> 2;
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= OH * owq) return;
  int oy = i / owq, ox0 = (i - oy * owq) * 4;
  int c = blockIdx.y, n = blockIdx.z;
  const float* xc = x + (u64)n * xbs + (u64)c * H * W;
  const float* wc = w + c * 9;
  float wr[9];
#pragma unroll
  for (int j = 0; j < 9; j++) wr[j] = wc[j];
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  int iy0 = oy * S - ph, ix0 = ox0 * S - pw;
#pragma unroll
  for (int ky = 0; ky < 3; ky++) {
    int iy = iy0 + ky;
    bool rok = iy >= 0 && iy < H;
    const float* row = xc + iy * W;
    float r[NC];
#pragma unroll
    for (int j = 0; j < NC; j++) {
      int ix = ix0 + j;
      r[j] = (rok && ix >= 0 && ix < W) ? row[ix] : 0.0f;
    }
#pragma unroll
    for (int o = 0; o < 4; o++)
#pragma unroll
      for (int kx = 0; kx < 3; kx++) acc[o] = __builtin_fmaf(r[o * S + kx], wr[ky * 3 + kx], acc[o]);
  }
  float b = bias[c];
  u64 o0 = (u64)c * OH * OW + (u64)oy * OW + ox0;
#pragma unroll
  for (int o = 0; o < 4; o++) {
    if (ox0 + o < OW) {
      float v = act(acc[o] + b, act_);
      if (res) v += res[(u64)n * rbs + o0 + o];
      y[(u64)n * ybs + o0 + o] = v;
    }
  }
}

#define DW3_PARAMS                                                                                              \
  const float *x, int xbs, const float *w, const float *bias, float *y, int ybs, const float *res, int rbs, int C, \
      int H, int W, int OH, int OW, int KH, int KW, int sh, int sw, int ph, int pw, int total, int act_
extern "C" __global__ void dwconv3_s1(DW3_PARAMS) { dwconv3_body<1>(x, xbs, w, bias, y, ybs, res, rbs, H, W, OH, OW, ph, pw, act_); }
extern "C" __global__ void dwconv3_s2(DW3_PARAMS) { dwconv3_body<2>(x, xbs, w, bias, y, ybs, res, rbs, H, W, OH, OW, ph, pw, act_); }

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

// gather4n is `parts` gather4 copies that differ only in their offsets
// (offs[2p], offs[2p+1] = xoff, yoff of part p), run as one launch with
// the part as the fastest index: the YOLOX Focus (four stride-2 Slices of
// the image into one Concat) then reads each 2x2 input block with four
// neighbouring threads, so the image is fetched from DRAM once.
extern "C" __global__ void gather4n(const float* x, int xbs, int xs1, int xs2, int xs3, float* y, int ybs, int ys1,
                                    int ys2, int D1, int D2, int D3, int parts, const int* offs, int total) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= total) return;
  int part = i % parts, r = i / parts;
  int i3 = r % D3;
  r /= D3;
  int i2 = r % D2;
  r /= D2;
  int i1 = r % D1, n = r / D1;
  int xoff = offs[2 * part], yoff = offs[2 * part + 1];
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
