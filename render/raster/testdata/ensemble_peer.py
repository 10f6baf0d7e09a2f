# Run: /usr/bin/python3 render/raster/testdata/ensemble_peer.py datasets/samples/nuscenes
# OpenCV/numpy peer of raster_render's ensemble: six 1600x900 RGB images
# scaled (INTER_LINEAR) into 528x293 tiles, the 34 688 LIDAR_TOP points
# projected through each camera (numpy float64) and painted 2x2 with a
# nearest-wins depth test (np.lexsort), composed into a 1600x900 canvas.
# Boxes, BEV and front tiles are left out (the peer does less work).
import json, sys, time, os
import numpy as np, cv2
d = sys.argv[1]
info = json.load(open(os.path.join(d, "n015-2018-07-24-11-22-45+0800.derived.json")))["data_list"][0]
pts = np.fromfile(os.path.join(d, info["lidar_points"]["lidar_path"]), dtype=np.float32).reshape(-1, 5)
names = ["CAM_FRONT_LEFT", "CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_LEFT", "CAM_BACK", "CAM_BACK_RIGHT"]
lay = [[0.002,0.004,0.331,0.33],[0.335,0.004,0.665,0.33],[0.669,0.004,0.998,0.33],[0.002,0.336,0.331,0.662],[0.335,0.336,0.665,0.662],[0.669,0.336,0.998,0.662]]
W, H = 1600, 900
cams = []
for n, l in zip(names, lay):
    im = info["images"][n]
    img = cv2.cvtColor(cv2.imread(os.path.join(d, im["img_path"])), cv2.COLOR_BGR2RGB)
    x0, y0, x1, y1 = round(l[0]*W), round(l[1]*H), round(l[2]*W), round(l[3]*H)
    cams.append((img, np.array(im["cam2img"])[:3,:3], np.array(im["lidar2cam"]), (x0, y0, x1-x0, y1-y0)))
P = np.c_[pts[:, :3].astype(np.float64), np.ones(len(pts))]
lut = (cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(-1,1), cv2.COLORMAP_TURBO)[:,0,::-1]).copy()
def frame(canvas):
    canvas[:] = (16, 18, 24)
    for img, K, E, (x, y, w, h) in cams:
        tile = canvas[y:y+h, x:x+w]
        cv2.resize(img, (w, h), dst=tile, interpolation=cv2.INTER_LINEAR)
        c = P @ E[:3].T
        z = c[:, 2]
        m = z > 0.1
        c, z = c[m], z[m]
        u = (K[0,0]*c[:,0] + K[0,2]*z)/z
        v = (K[1,1]*c[:,1] + K[1,2]*z)/z
        tu = np.floor((u+0.5)*w/1600).astype(np.int64); tv = np.floor((v+0.5)*h/900).astype(np.int64)
        ok = (tu >= 0) & (tu < w-1) & (tv >= 0) & (tv < h-1)
        tu, tv, z = tu[ok], tv[ok], z[ok]
        order = np.argsort(-z)  # far first, near painted last (wins)
        tu, tv, z = tu[order], tv[order], z[order]
        col = lut[np.clip(((1 - z/50)*255 + 0.5).astype(np.int64), 0, 255)]
        for du in (0, 1):
            for dv in (0, 1):
                tile[tv+dv, tu+du] = col
canvas = np.zeros((H, W, 3), np.uint8)
frame(canvas)
n = 20
t0 = time.perf_counter()
for _ in range(n):
    frame(canvas)
dt = (time.perf_counter() - t0) / n
print(f"opencv-peer ensemble 1600x900 (6 camera tiles, points only): {dt*1e3:.2f} ms/frame")
cv2.imwrite(os.environ.get("PEER_PNG", "/tmp/ensemble_peer.png"), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
