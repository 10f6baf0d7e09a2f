# Peer for BenchmarkBEVFusion6: OpenCV + numpy preprocessing of the six nuScenes
# cameras as CUDA-BEVFusion does it (resize 0.48, crop (32, 176), normalise, CHW).
# Run from the repository root: /usr/bin/python3 filters/imagetensor/testdata/peer_bevfusion6.py
import glob, time, numpy as np, cv2
cv2.setNumThreads(1)
names = ["CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"]
imgs = [cv2.cvtColor(cv2.imread(glob.glob("datasets/samples/nuscenes/*__%s__*.jpg" % n)[0]), cv2.COLOR_BGR2RGB) for n in names]
mean = np.array([0.485, 0.456, 0.406], np.float32); std = np.array([0.229, 0.224, 0.225], np.float32)
out = np.empty((1, 6, 3, 256, 704), np.float32)
def run():
    for i, im in enumerate(imgs):
        r = cv2.resize(im, (768, 432), interpolation=cv2.INTER_LINEAR)[176:432, 32:736]
        out[0, i] = ((r.astype(np.float32) * (1 / 255.0) - mean) / std).transpose(2, 0, 1)
run()
ts = []
for _ in range(20):
    t = time.perf_counter(); run(); ts.append((time.perf_counter() - t) * 1e3)
print("opencv+numpy 1 thread: median %.2f ms per 6 cameras" % np.median(ts))
