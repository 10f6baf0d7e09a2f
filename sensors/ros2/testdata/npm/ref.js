// Reference for the sensors/ros2 tests, independent of ds3d-go: messages are
// parsed with @foxglove/rosmsg and (de)serialized with
// @foxglove/rosmsg2-serialization, the libraries the MCAP authors publish.
//
//   node ref.js samples DEFS.json KITTI_DIR  > samples.json
//     serializes one or more sample messages of every type, with values
//     chosen here (many from a KITTI frame's calibration, labels and
//     velodyne points), after checking that each sample's keys are exactly
//     the fields DEFS.json's definition declares; prints
//     [{type, name, hex, value, expect?}] where value is the message as
//     MessageReader reads those bytes back.
//   node ref.js decode DEFS.json < [{type, hex}]  > [{type, value}]
//     deserializes bytes written by ds3d-go.
//   node ref.js serve -
//     the same as a server: the definitions as the first line of standard
//     input, then one {type, hex} JSON line in, one {value} (or {error})
//     line out, until standard input ends.
//
// DEFS.json maps "pkg/msg/Name" to its ros2msg schema text. JSON cannot hold
// typed arrays, bigints or NaN: uint8 arrays are {"$b64": base64}, other typed
// arrays plain arrays, bigints decimal strings, non-finite numbers strings.
"use strict";
const fs = require("fs");
const path = require("path");
const { parse } = require("@foxglove/rosmsg");
const { MessageReader, MessageWriter } = require("@foxglove/rosmsg2-serialization");
const { CdrWriter, EncapsulationKind } = require("@foxglove/cdr");

const [mode, defsPath, kittiDir] = process.argv.slice(2);
// "-" (serve only): the definitions come as the first line of standard input.
let defsText = defsPath === "-" ? null : JSON.parse(fs.readFileSync(defsPath, "utf8"));
const parsed = {};
function defsOf(type) {
  if (!parsed[type]) {
    const text = defsText[type];
    if (text === undefined) throw new Error(`no definition of ${type}`);
    parsed[type] = parse(text, { ros2: true });
  }
  return parsed[type];
}

function toJSON(v) {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (v instanceof Uint8Array) return { $b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  if (ArrayBuffer.isView(v)) return Array.from(v, toJSON);
  if (Array.isArray(v)) return v.map(toJSON);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toJSON(v[k]);
    return o;
  }
  return v;
}

// checkKeys fails when a sample's keys differ from the definition's fields:
// the samples are written from the public ROS 2 definitions, so this
// cross-checks the definition text ds3d-go embeds.
function checkKeys(defs, fields, obj, where) {
  const want = fields.filter((f) => !f.isConstant).map((f) => f.name).sort();
  const got = Object.keys(obj).sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    throw new Error(`${where}: sample has fields [${got}], definition [${want}]`);
  }
  for (const f of fields) {
    if (f.isConstant) continue;
    const v = obj[f.name];
    if (f.type === "time" || f.type === "duration") {
      const items = f.isArray ? v : [v];
      for (const t of items) checkKeys(defs, [{ name: "sec" }, { name: "nanosec" }], t, `${where}.${f.name}`);
      continue;
    }
    if (!f.isComplex) continue;
    const sub = defs.find((d) => d.name === f.type);
    if (!sub) throw new Error(`${where}.${f.name}: type ${f.type} not defined`);
    const items = f.isArray ? v : [v];
    if (f.isArray && f.arrayLength !== undefined && items.length !== f.arrayLength) {
      throw new Error(`${where}.${f.name}: ${items.length} elements, fixed length ${f.arrayLength}`);
    }
    items.forEach((it, i) => checkKeys(defs, sub.definitions, it, `${where}.${f.name}[${i}]`));
  }
}

const out = [];
function emit(type, name, msg, expect) {
  const defs = defsOf(type);
  checkKeys(defs, defs[0].definitions, msg, `${type} ${name}`);
  const bytes = new MessageWriter(defs).writeMessage(msg);
  emitBytes(type, name, bytes, expect);
}
function emitBytes(type, name, bytes, expect) {
  const value = new MessageReader(defsOf(type)).readMessage(bytes);
  const rec = { type, name, hex: Buffer.from(bytes).toString("hex"), value: toJSON(value) };
  if (expect !== undefined) rec.expect = toJSON(expect);
  out.push(rec);
}

function readKitti() {
  const calib = {};
  for (const line of fs.readFileSync(path.join(kittiDir, "training/calib/000001.txt"), "utf8").split("\n")) {
    const [k, rest] = line.split(":");
    if (rest) calib[k.trim()] = rest.trim().split(/\s+/).map(Number);
  }
  const labels = fs.readFileSync(path.join(kittiDir, "training/label_2/000001.txt"), "utf8")
    .split("\n").filter((l) => l && !l.startsWith("DontCare")).map((l) => {
      const p = l.split(" ");
      return { cls: p[0], box: p.slice(4, 8).map(Number), dims: p.slice(8, 11).map(Number), loc: p.slice(11, 14).map(Number), ry: Number(p[14]) };
    });
  const velo = fs.readFileSync(path.join(kittiDir, "training/velodyne/000001.bin"));
  const png = fs.readFileSync(path.join(kittiDir, "training/image_2/000001.png"));
  return { calib, labels, velo, png };
}

// quatFromMat: Shepperd's method on a row-major 3×3 (only used to choose
// sample values; the tests compare the values, not the conversion).
function quatFromMat(m) {
  const [a, b, c, d, e, f, g, h, i] = m;
  const tr = a + e + i;
  let x, y, z, w;
  if (tr > 0) { const s = 2 * Math.sqrt(tr + 1); w = s / 4; x = (h - f) / s; y = (c - g) / s; z = (d - b) / s; }
  else if (a > e && a > i) { const s = 2 * Math.sqrt(1 + a - e - i); w = (h - f) / s; x = s / 4; y = (b + d) / s; z = (c + g) / s; }
  else if (e > i) { const s = 2 * Math.sqrt(1 + e - a - i); w = (c - g) / s; x = (b + d) / s; y = s / 4; z = (f + h) / s; }
  else { const s = 2 * Math.sqrt(1 + i - a - e); w = (d - b) / s; x = (c + g) / s; y = (f + h) / s; z = s / 4; }
  const n = Math.hypot(x, y, z, w);
  return { x: x / n, y: y / n, z: z / n, w: w / n };
}

const stamp = { sec: 1317042560, nanosec: 123456789 }; // a KITTI-era time
const header = (frame) => ({ stamp, frame_id: frame });
const zeros = (n) => new Array(n).fill(0);
const cov = (s) => Array.from({ length: 36 }, (_, k) => (k % 7 === 0 ? s : k * 1e-4));

function samples() {
  const k = readKitti();
  emit("std_msgs/msg/String", "utf8", { data: "hello ds3d – ✓" });
  emit("std_msgs/msg/String", "empty", { data: "" });
  emit("rcl_interfaces/msg/Log", "info", { stamp, level: 20, name: "ds3d", msg: "pipeline started", file: "main.go", function: "main", line: 42 });

  // PointCloud2: the first 300 KITTI points, x y z intensity float32.
  const n = 300;
  const xyzi = new Uint8Array(k.velo.buffer, k.velo.byteOffset, n * 16).slice();
  const f32 = (name, offset) => ({ name, offset, datatype: 7, count: 1 });
  emit("sensor_msgs/msg/PointCloud2", "kitti-xyzi", {
    header: header("velodyne"), height: 1, width: n, fields: [f32("x", 0), f32("y", 4), f32("z", 8), f32("intensity", 12)],
    is_bigendian: false, point_step: 16, row_step: 16 * n, data: xyzi, is_dense: true,
  });
  // An Ouster-style organised cloud: x y z float32, padding, intensity
  // float32, t uint32 ns after the stamp, reflectivity uint16, ring uint16,
  // and a float64 absolute timestamp; 2 rows of 5 with row padding.
  const h = 2, w = 5, ps = 40, rs = ps * w + 8;
  const dv = new DataView(new ArrayBuffer(rs * h));
  const pts = [];
  const stampS = stamp.sec + stamp.nanosec * 1e-9;
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    const j = r * w + c, o = r * rs + c * ps, v = k.velo.readFloatLE.bind(k.velo);
    const x = v(16 * j), y = v(16 * j + 4), z = v(16 * j + 8), inten = v(16 * j + 12) * 255;
    const t = 1000 * j * 97, refl = 3 * j, ring = r * 64 + c;
    const abs = stampS + j * 1e-3;
    dv.setFloat32(o, x, true); dv.setFloat32(o + 4, y, true); dv.setFloat32(o + 8, z, true);
    dv.setFloat32(o + 16, inten, true); dv.setUint32(o + 20, t, true); dv.setUint16(o + 24, refl, true);
    dv.setUint16(o + 26, ring, true); dv.setFloat64(o + 32, abs, true);
    // The frame ds3d should make: x y z intensity, then t as seconds, then
    // reflectivity, ring, and the absolute time relative to the stamp.
    pts.push([x, y, z, Math.fround(inten), t * 1e-9, refl, ring, abs - stampS].map(Math.fround));
  }
  emit("sensor_msgs/msg/PointCloud2", "ouster-like", {
    header: header("os_lidar"), height: h, width: w,
    fields: [f32("x", 0), f32("y", 4), f32("z", 8), f32("intensity", 16), { name: "t", offset: 20, datatype: 6, count: 1 },
      { name: "reflectivity", offset: 24, datatype: 4, count: 1 }, { name: "ring", offset: 26, datatype: 4, count: 1 },
      { name: "timestamp", offset: 32, datatype: 8, count: 1 }],
    is_bigendian: false, point_step: ps, row_step: rs, data: new Uint8Array(dv.buffer), is_dense: false,
  }, { columns: ["x", "y", "z", "intensity", "time", "reflectivity", "ring", "timestamp"], points: pts });

  // Images: a 5×3 rgb8 with 4 bytes of row padding, bgr8, mono8, 16UC1
  // (depth in mm), big-endian mono16, 32FC1 (metres).
  const img = (enc, bpp, w, h, pad, be, fill) => {
    const step = w * bpp + pad, data = new Uint8Array(step * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w * bpp; x++) data[y * step + x] = fill(x, y);
    return { header: header("cam2"), height: h, width: w, encoding: enc, is_bigendian: be, step, data };
  };
  emit("sensor_msgs/msg/Image", "rgb8", img("rgb8", 3, 5, 3, 4, 0, (x, y) => (x * 17 + y * 50) & 255));
  emit("sensor_msgs/msg/Image", "bgr8", img("bgr8", 3, 4, 2, 0, 0, (x, y) => (x * 31 + y * 7) & 255));
  emit("sensor_msgs/msg/Image", "mono8", img("mono8", 1, 3, 2, 1, 0, (x, y) => 10 * x + 100 * y));
  emit("sensor_msgs/msg/Image", "16UC1", img("16UC1", 2, 3, 2, 2, 0, (x, y) => (x * 40 + y) & 255));
  emit("sensor_msgs/msg/Image", "mono16-be", img("mono16", 2, 2, 2, 0, 1, (x, y) => x + 4 * y));
  const depth = new DataView(new ArrayBuffer(3 * 2 * 4));
  [1.5, 2.25, 0, 10.125, 3.5, 7.75].forEach((v, i) => depth.setFloat32(4 * i, v, true));
  emit("sensor_msgs/msg/Image", "32FC1", { header: header("depth"), height: 2, width: 3, encoding: "32FC1", is_bigendian: 0, step: 12, data: new Uint8Array(depth.buffer) });
  emit("sensor_msgs/msg/CompressedImage", "kitti-png", { header: header("cam2"), format: "png", data: new Uint8Array(k.png) });
  emit("sensor_msgs/msg/CompressedImage", "png-head", { header: header("cam2"), format: "rgb8; png compressed bgr8", data: new Uint8Array(k.png.subarray(0, 100)) });

  // CameraInfo of KITTI's camera 2 (P2, R0_rect) with plumb_bob and
  // rational_polynomial coefficients.
  const P2 = k.calib.P2, R0 = k.calib.R0_rect;
  const K = [P2[0], P2[1], P2[2], P2[4], P2[5], P2[6], P2[8], P2[9], P2[10]];
  const ci = (model, d) => ({
    header: header("cam2"), height: 375, width: 1242, distortion_model: model, d, k: K, r: R0, p: P2,
    binning_x: 0, binning_y: 0, roi: { x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false },
  });
  emit("sensor_msgs/msg/CameraInfo", "plumb_bob", ci("plumb_bob", [-0.3691481, 0.1968681, 0.001353473, 0.0005677587, -0.06770705]));
  emit("sensor_msgs/msg/CameraInfo", "rational", { ...ci("rational_polynomial", [0.1, -0.2, 0.001, 0.002, 0.3, 0.01, 0.02, 0.03]), binning_x: 2, binning_y: 2, roi: { x_offset: 10, y_offset: 20, height: 300, width: 1000, do_rectify: true } });

  // TF: velodyne → camera from Tr_velo_to_cam, imu → velodyne, a dynamic base_link → odom.
  const tr = (m) => ({ translation: { x: m[3], y: m[7], z: m[11] }, rotation: quatFromMat([m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]]) });
  emit("tf2_msgs/msg/TFMessage", "kitti", { transforms: [
    { header: header("cam0"), child_frame_id: "velodyne", transform: tr(k.calib.Tr_velo_to_cam) },
    { header: header("velodyne"), child_frame_id: "imu", transform: tr(k.calib.Tr_imu_to_velo) },
    { header: header("odom"), child_frame_id: "base_link", transform: { translation: { x: 12.5, y: -3.25, z: 0.5 }, rotation: { x: 0, y: 0, z: Math.sin(0.35), w: Math.cos(0.35) } } },
  ] });
  emit("tf2_msgs/msg/TFMessage", "empty", { transforms: [] });

  emit("nav_msgs/msg/Odometry", "odom", {
    header: header("odom"), child_frame_id: "base_link",
    pose: { pose: { position: { x: 12.5, y: -3.25, z: 0.5 }, orientation: { x: 0.01, y: -0.02, z: Math.sin(0.35), w: Math.cos(0.35) } }, covariance: cov(0.01) },
    twist: { twist: { linear: { x: 8.3, y: 0.1, z: 0 }, angular: { x: 0, y: 0, z: 0.05 } }, covariance: cov(0.02) },
  });

  // Detections from KITTI's labels (camera frame, values as labelled).
  const pose0 = { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };
  const hyp = (id, score, pose) => ({ hypothesis: { class_id: id, score }, pose: { pose: pose || pose0, covariance: zeros(36) } });
  emit("vision_msgs/msg/Detection3DArray", "kitti", {
    header: header("cam2"),
    detections: k.labels.map((l, i) => {
      const center = { position: { x: l.loc[0], y: l.loc[1] - l.dims[0] / 2, z: l.loc[2] }, orientation: { x: 0, y: 0, z: Math.sin(l.ry / 2), w: Math.cos(l.ry / 2) } };
      const results = i === 0 ? [hyp(l.cls, 0.8, center), hyp("2", 0.9)] : i === 1 ? [] : [hyp(l.cls, 0.5 + i / 10, center)];
      return { header: header("cam2"), results, bbox: { center, size: { x: l.dims[2], y: l.dims[0], z: l.dims[1] } }, id: i === 2 ? "" : String(100 + i) };
    }),
  });
  emit("vision_msgs/msg/Detection2DArray", "kitti", {
    header: header("cam2"),
    detections: k.labels.map((l, i) => ({
      header: header("cam2"), results: [hyp(i === 1 ? "7" : l.cls, 0.6 + i / 10)],
      bbox: { center: { position: { x: (l.box[0] + l.box[2]) / 2, y: (l.box[1] + l.box[3]) / 2 }, theta: 0 }, size_x: l.box[2] - l.box[0], size_y: l.box[3] - l.box[1] },
      id: i === 0 ? "" : String(i),
    })),
  });

  // A marker with every field set.
  const marker = {
    header: header("map"), ns: "test", id: 7, type: 11, action: 0,
    pose: { position: { x: 1, y: 2, z: 3 }, orientation: { x: 0, y: 0, z: Math.sin(0.1), w: Math.cos(0.1) } },
    scale: { x: 1.5, y: 0.5, z: 2 }, color: { r: 0.25, g: 0.5, b: 0.75, a: 1 }, lifetime: { sec: 1, nanosec: 500000000 },
    frame_locked: true, points: [{ x: 0, y: 0, z: 0 }, { x: 1, y: 0, z: 0 }, { x: 0, y: 1, z: 0 }],
    colors: [{ r: 1, g: 0, b: 0, a: 1 }, { r: 0, g: 1, b: 0, a: 1 }, { r: 0, g: 0, b: 1, a: 0.5 }],
    texture_resource: "embedded://tex", texture: { header: header("map"), format: "png", data: new Uint8Array(k.png.subarray(0, 64)) },
    uv_coordinates: [{ u: 0, v: 0 }, { u: 1, v: 0 }, { u: 0, v: 1 }], text: "Car 0.87", mesh_resource: "package://m/mesh.dae",
    mesh_file: { filename: "mesh.stl", data: new Uint8Array([1, 2, 3, 4, 5]) }, mesh_use_embedded_materials: true,
  };
  emit("visualization_msgs/msg/MarkerArray", "full", { markers: [marker, { ...marker, id: 8, type: 1, text: "", points: [], colors: [], uv_coordinates: [] }] });

  // foxglove_msgs: a SceneUpdate with a deletion and a cube entity carrying
  // metadata, and a FrameTransform (values chosen here).
  const fxColor = { r: 1, g: 0.5, b: 0.25, a: 0.75 };
  const fxPose = { position: { x: 10, y: -2, z: 0.75 }, orientation: { x: 0, y: 0, z: Math.sin(0.35), w: Math.cos(0.35) } };
  emit("foxglove_msgs/msg/SceneUpdate", "cube", {
    deletions: [{ timestamp: stamp, type: 1, id: "" }, { timestamp: stamp, type: 0, id: "box-3" }],
    entities: [{
      timestamp: stamp, frame_id: "velodyne", id: "track-12", lifetime: { sec: 1, nanosec: 500000000 }, frame_locked: true,
      metadata: [{ key: "label", value: "Car" }], arrows: [], cubes: [{ pose: fxPose, size: { x: 4.25, y: 1.75, z: 1.5 }, color: fxColor }],
      spheres: [], cylinders: [], lines: [], triangles: [], texts: [], models: [],
    }],
  });
  emit("foxglove_msgs/msg/FrameTransform", "odom", {
    timestamp: stamp, parent_frame_id: "odom", child_frame_id: "base_link",
    translation: { x: 12.5, y: -3.25, z: 0.5 }, rotation: { x: 0, y: 0, z: Math.sin(0.35), w: Math.cos(0.35) },
  });

  // foxglove_msgs PointCloud, FrameTransforms and CompressedImage: the same
  // KITTI points, transforms and PNG as the ROS samples above.
  const packed = (name, offset) => ({ name, offset, type: 7 });
  emit("foxglove_msgs/msg/PointCloud", "kitti-xyzi", {
    timestamp: stamp, frame_id: "velodyne", pose: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
    point_stride: 16, fields: [packed("x", 0), packed("y", 4), packed("z", 8), packed("intensity", 12)], data: xyzi,
  });
  emit("foxglove_msgs/msg/FrameTransforms", "kitti", { transforms: [
    { timestamp: stamp, parent_frame_id: "cam0", child_frame_id: "velodyne", translation: tr(k.calib.Tr_velo_to_cam).translation, rotation: tr(k.calib.Tr_velo_to_cam).rotation },
    { timestamp: stamp, parent_frame_id: "odom", child_frame_id: "base_link", translation: { x: 12.5, y: -3.25, z: 0.5 }, rotation: { x: 0, y: 0, z: Math.sin(0.35), w: Math.cos(0.35) } },
  ] });
  emit("foxglove_msgs/msg/CompressedImage", "kitti-png", { timestamp: stamp, frame_id: "cam2", data: new Uint8Array(k.png), format: "png" });

  // Big-endian CDR (CDR_BE), written field by field with @foxglove/cdr's
  // CdrWriter (rosmsg2-serialization's writer only writes little endian).
  {
    const c = new CdrWriter({ kind: EncapsulationKind.CDR_BE });
    const m = ci("plumb_bob", [-0.3691481, 0.1968681, 0.001353473, 0.0005677587, -0.06770705]);
    c.int32(stamp.sec).uint32(stamp.nanosec).string("cam2").uint32(m.height).uint32(m.width).string(m.distortion_model);
    c.float64Array(m.d, true).float64Array(m.k, false).float64Array(m.r, false).float64Array(m.p, false);
    c.uint32(1).uint32(1).uint32(5).uint32(6).uint32(7).uint32(8).uint8(1);
    emitBytes("sensor_msgs/msg/CameraInfo", "big-endian", c.data);
  }
  {
    const c = new CdrWriter({ kind: EncapsulationKind.CDR_BE });
    c.sequenceLength(2);
    for (const [parent, child, t] of [["map", "odom", [1, 2, 3]], ["odom", "base_link", [-4.5, 0.25, 0]]]) {
      c.int32(stamp.sec).uint32(stamp.nanosec).string(parent).string(child);
      c.float64(t[0]).float64(t[1]).float64(t[2]).float64(0).float64(0).float64(Math.sin(0.2)).float64(Math.cos(0.2));
    }
    emitBytes("tf2_msgs/msg/TFMessage", "big-endian", c.data);
  }
}

if (mode === "samples") {
  samples();
} else if (mode === "decode") {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  for (const { type, hex } of input) {
    const value = new MessageReader(defsOf(type)).readMessage(Buffer.from(hex, "hex"));
    out.push({ type, value: toJSON(value) });
  }
} else if (mode === "serve") {
  const rl = require("readline").createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (defsText === null) {
      defsText = JSON.parse(line);
      return;
    }
    let res;
    try {
      const { type, hex } = JSON.parse(line);
      res = { value: toJSON(new MessageReader(defsOf(type)).readMessage(Buffer.from(hex, "hex"))) };
    } catch (e) {
      res = { error: String(e && e.stack || e) };
    }
    process.stdout.write(JSON.stringify(res) + "\n");
  });
  return;
} else {
  throw new Error("usage: node ref.js samples|decode|serve DEFS.json [KITTI_DIR]");
}
process.stdout.write(JSON.stringify(out));
