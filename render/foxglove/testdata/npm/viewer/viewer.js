// Browser viewer for the foxglove_ws Chromium test: the FoxgloveClient of
// @foxglove/ws-protocol subscribes to the points and boxes, the CDR is
// decoded with @foxglove/rosmsg2-serialization from the advertised schemas,
// and the cloud is drawn from above (x forward = up, y left = left) with the
// boxes' footprints. The decoded point count goes into #count, and
// body[data-ready] is set once a cloud and a box array have been drawn.
// Bundled by build-viewer.mjs; the page is opened as index.html?ws=ws://…
import { FoxgloveClient } from "@foxglove/ws-protocol";
import { parse } from "@foxglove/rosmsg";
import { MessageReader } from "@foxglove/rosmsg2-serialization";

const url = new URLSearchParams(location.search).get("ws");
const client = new FoxgloveClient({ ws: new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]) });
const subs = new Map();
let cloud = null;
let markers = null;

client.on("advertise", (channels) => {
  for (const ch of channels) {
    const reader = new MessageReader(parse(ch.schema, { ros2: true }));
    subs.set(client.subscribe(ch.id), { ch, reader });
  }
  document.getElementById("topic").textContent = channels.map((c) => c.topic).join(", ");
});
client.on("status", (s) => console.warn("server status", s.message));
client.on("message", ({ subscriptionId, data }) => {
  const sub = subs.get(subscriptionId);
  if (!sub) return;
  const msg = sub.reader.readMessage(data);
  if (sub.ch.schemaName === "sensor_msgs/msg/PointCloud2") cloud = msg;
  if (sub.ch.schemaName === "visualization_msgs/msg/MarkerArray") markers = msg.markers;
  draw();
});

function draw() {
  const canvas = document.getElementById("view");
  const g = canvas.getContext("2d");
  if (canvas.width !== innerWidth || canvas.height !== innerHeight) {
    canvas.width = innerWidth;
    canvas.height = innerHeight;
  }
  // 45 m ahead of the sensor fill the height: KITTI's scans look forward.
  const W = canvas.width, H = canvas.height, scale = (H * 0.85) / 45;
  const cx = W / 2, cy = H * 0.9;
  const toScreen = (x, y) => [cx - y * scale, cy - x * scale];
  g.fillStyle = "#111";
  g.fillRect(0, 0, W, H);
  g.strokeStyle = "#333";
  for (let r = 10; r <= 80; r += 10) {
    g.beginPath();
    g.arc(cx, cy, r * scale, 0, 2 * Math.PI);
    g.stroke();
  }
  if (cloud) {
    const view = new DataView(cloud.data.buffer, cloud.data.byteOffset, cloud.data.byteLength);
    const f = Object.fromEntries(cloud.fields.map((x) => [x.name, x.offset]));
    const n = cloud.width * cloud.height;
    const img = g.getImageData(0, 0, W, H);
    for (let i = 0; i < n; i++) {
      const o = i * cloud.point_step;
      const x = view.getFloat32(o + f.x, true), y = view.getFloat32(o + f.y, true);
      const v = f.intensity !== undefined ? view.getFloat32(o + f.intensity, true) : 0.5;
      const [u, w] = toScreen(x, y).map(Math.round);
      if (u < 0 || w < 0 || u >= W || w >= H) continue;
      const p = 4 * (w * W + u);
      img.data[p] = 90 + 165 * v; img.data[p + 1] = 210; img.data[p + 2] = 255 - 165 * v; img.data[p + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    document.getElementById("count").textContent = String(n);
  }
  if (markers) {
    let boxes = 0;
    for (const m of markers) {
      if (m.action !== 0) continue;
      boxes++;
      const q = m.pose.orientation;
      const yaw = Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
      const c = Math.cos(yaw), s = Math.sin(yaw);
      const hx = m.scale.x / 2, hy = m.scale.y / 2;
      g.beginPath();
      [[hx, hy], [hx, -hy], [-hx, -hy], [-hx, hy]].forEach(([a, b], k) => {
        const [u, w] = toScreen(m.pose.position.x + c * a - s * b, m.pose.position.y + s * a + c * b);
        if (k === 0) g.moveTo(u, w); else g.lineTo(u, w);
      });
      g.closePath();
      const rgb = `${255 * m.color.r},${255 * m.color.g},${255 * m.color.b}`;
      g.fillStyle = `rgba(${rgb},0.35)`;
      g.fill();
      g.lineWidth = 3;
      g.strokeStyle = `rgb(${rgb})`;
      g.stroke();
    }
    document.getElementById("boxes").textContent = String(boxes);
  }
  if (cloud && markers) document.body.dataset.ready = "1";
}
