// PCL VoxelGrid (leaf 0.2, as ../../shared/peers/pcl_bench.cpp) on a KITTI .bin, timed per call in
// wall time and in this thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a shared, loaded machine the
// CPU time is the figure that compares with the Go benchmark's cpu-ms/op. Build and run:
//   g++ -O2 -std=c++17 pcl_voxel_cpu.cpp -I/usr/include/pcl-1.13 -I/usr/include/eigen3 \
//     -lpcl_common -lpcl_filters -o /tmp/pcl_voxel_cpu && /tmp/pcl_voxel_cpu CLOUD.bin 200
#include <pcl/filters/voxel_grid.h>
#include <pcl/point_cloud.h>
#include <pcl/point_types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

using Cloud = pcl::PointCloud<pcl::PointXYZI>;

static double now(clockid_t c) {
  timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s CLOUD.bin [REPS]\n", argv[0]); return 2; }
  int reps = argc > 2 ? atoi(argv[2]) : 200;
  FILE* f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  size_t n = ftell(f) / 16;
  fseek(f, 0, SEEK_SET);
  std::vector<float> buf(n * 4);
  if (fread(buf.data(), 16, n, f) != n) { perror("fread"); return 1; }
  fclose(f);
  Cloud::Ptr c(new Cloud);
  c->resize(n);
  for (size_t i = 0; i < n; i++) {
    auto& p = (*c)[i];
    p.x = buf[4 * i]; p.y = buf[4 * i + 1]; p.z = buf[4 * i + 2]; p.intensity = buf[4 * i + 3];
  }
  c->width = n; c->height = 1; c->is_dense = true;
  pcl::VoxelGrid<pcl::PointXYZI> vg;
  vg.setLeafSize(0.2f, 0.2f, 0.2f);
  Cloud out;
  for (int i = 0; i < 5; i++) { vg.setInputCloud(c); vg.filter(out); }
  std::vector<double> wall;
  double c0 = now(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < reps; i++) {
    double w0 = now(CLOCK_MONOTONIC);
    vg.setInputCloud(c);
    vg.filter(out);
    wall.push_back(now(CLOCK_MONOTONIC) - w0);
  }
  double cpu = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / reps;
  std::sort(wall.begin(), wall.end());
  printf("{\"op\": \"voxel_0.2\", \"peer\": \"pcl-" PCL_VERSION_PRETTY "\", \"ms_median\": %.4f, \"ms_min\": %.4f, "
         "\"cpu_ms_mean\": %.4f, \"reps\": %d, \"n_points\": %zu, \"out_points\": %zu}\n",
         wall[wall.size() / 2], wall[0], cpu, reps, n, out.size());
  return 0;
}
