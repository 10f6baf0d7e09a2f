// Independent rosbag2/MCAP reference for sensors/ros2/bag's tests, built on
// the MCAP authors' TypeScript library (@mcap/core) and Foxglove's ROS 2
// message libraries (@foxglove/rosmsg, @foxglove/rosmsg2-serialization).
//
//   node bag.mjs write OUT.mcap lz4|zstd|none BIN...
//     writes a chunked, indexed MCAP file (profile ros2): one
//     sensor_msgs/msg/PointCloud2 per KITTI .bin (x, y, z, intensity
//     float32, the points as the .bin holds them) on /kitti/velo, a
//     sensor_msgs/msg/CameraInfo on /kitti/camera_info and a
//     tf2_msgs/msg/TFMessage on /tf, and prints, as JSON, what it wrote.
//   node bag.mjs write-frames OUT.mcap lz4|zstd|none LIDAR.pcd.bin PNG JPG...
//     writes a chunked, indexed MCAP file (profile ros2) of the bundled
//     nuScenes and KITTI frames: a sensor_msgs/msg/PointCloud2 of the
//     nuScenes LIDAR_TOP sweep (x, y, z, intensity, ring float32, point
//     step 20, the data the .pcd.bin bytes unchanged) on /nuscenes/LIDAR_TOP,
//     a sensor_msgs/msg/CompressedImage per nuScenes camera JPEG (format
//     "jpeg", the file's bytes) on /nuscenes/CAM_…/image/compressed, the
//     KITTI PNG as a CompressedImage (format "png") on
//     /kitti/image_2/compressed and, decoded by pngjs, as a
//     sensor_msgs/msg/Image (rgb8, tightly packed) on /kitti/image_2/raw,
//     and prints, as JSON, what it wrote: topic, type, times, frame_id,
//     format or encoding, size and the sha256 of every data field.
//   node bag.mjs read FILE.mcap
//     reads a file with the indexed reader (CRCs checked) and prints, as
//     JSON, its header, statistics, channels, schemas and every message
//     decoded (the data of a PointCloud2, a foxglove_msgs PointCloud or
//     CompressedImage as its sha256).
//   node bag.mjs bench-write OUT.mcap lz4|none BIN N ROUNDS
//     times writing one PointCloud2 of BIN (serialised once, outside the
//     timing) N times into a chunked MCAP file (768 KiB chunks, as
//     rosbag2), ROUNDS times; prints a JSON line per round with ms per
//     message.
//   node bag.mjs bench-read FILE.mcap ROUNDS
//     times reading every message of FILE with the indexed reader,
//     deserialising it and copying a PointCloud2's points into a reused
//     buffer; prints a JSON line per round with ms per message.
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { McapIndexedReader, McapWriter } from "@mcap/core";
import { parse } from "@foxglove/rosmsg";
import { MessageReader, MessageWriter } from "@foxglove/rosmsg2-serialization";
import lz4decompress from "@foxglove/wasm-lz4";
import * as zstd from "@foxglove/wasm-zstd";
import lz4js from "lz4js";
import { PNG } from "pngjs";

const here = path.dirname(fileURLToPath(import.meta.url));

async function definition(type) {
  return readFile(path.join(here, "..", "msg", type.replaceAll("/", "_") + ".msg"), "utf8");
}

// JSON with bigints as decimal strings, typed arrays as plain arrays and
// maps as objects.
function json(v) {
  return JSON.stringify(
    v,
    (_, x) => {
      if (typeof x === "bigint") return x.toString();
      if (ArrayBuffer.isView(x)) return Array.from(x);
      if (x instanceof Map) return Object.fromEntries(x);
      return x;
    },
    1,
  );
}

class FileWritable {
  constructor(fh) {
    this.fh = fh;
    this.pos = 0n;
  }
  async write(buf) {
    await this.fh.write(buf);
    this.pos += BigInt(buf.byteLength);
  }
  position() {
    return this.pos;
  }
}

async function write(out, compression, bins) {
  await zstd.isLoaded;
  const compressChunk = {
    none: undefined,
    lz4: (data) => ({ compression: "lz4", compressedData: new Uint8Array(lz4js.compress(data)) }),
    zstd: (data) => ({ compression: "zstd", compressedData: zstd.compress(data, 3) }),
  }[compression];
  const fh = await open(out, "w");
  const w = new McapWriter({ writable: new FileWritable(fh), chunkSize: 1 << 20, compressChunk });
  await w.start({ profile: "ros2", library: "ds3d-go npm reference" });
  const written = { messages: [] };
  const channels = {};
  for (const [topic, type] of [
    ["/kitti/velo", "sensor_msgs/msg/PointCloud2"],
    ["/kitti/camera_info", "sensor_msgs/msg/CameraInfo"],
    ["/tf", "tf2_msgs/msg/TFMessage"],
  ]) {
    const text = await definition(type);
    const schemaId = await w.registerSchema({ name: type, encoding: "ros2msg", data: new TextEncoder().encode(text) });
    const channelId = await w.registerChannel({ topic, schemaId, messageEncoding: "cdr", metadata: new Map() });
    channels[topic] = { id: channelId, writer: new MessageWriter(parse(text, { ros2: true })) };
  }
  let seq = 0;
  const add = async (topic, logTime, msg, summary) => {
    const c = channels[topic];
    const data = c.writer.writeMessage(msg);
    await w.addMessage({ channelId: c.id, sequence: seq++, logTime, publishTime: logTime - 1000n, data });
    written.messages.push({ topic, logTime, publishTime: logTime - 1000n, ...summary });
  };
  const t0 = 1_317_000_000_000_000_000n; // 2011-09-26, when KITTI was recorded
  for (let i = 0; i < bins.length; i++) {
    const raw = await readFile(bins[i]);
    const n = raw.byteLength / 16;
    const t = t0 + BigInt(i) * 100_000_000n;
    const stamp = { sec: Number(t / 1_000_000_000n), nanosec: Number(t % 1_000_000_000n) };
    const cloud = {
      header: { stamp, frame_id: "velo_link" },
      height: 1,
      width: n,
      fields: ["x", "y", "z", "intensity"].map((name, k) => ({ name, offset: 4 * k, datatype: 7, count: 1 })),
      is_bigendian: false,
      point_step: 16,
      row_step: 16 * n,
      data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
      is_dense: true,
    };
    await add("/kitti/velo", t, cloud, { sha256: createHash("sha256").update(raw).digest("hex"), width: n });
    if (i === 0) {
      const info = {
        header: { stamp, frame_id: "camera_color_left" },
        height: 375,
        width: 1242,
        distortion_model: "plumb_bob",
        d: [0.1, -0.25, 0.001, -0.002, 0],
        k: [721.5377, 0, 609.5593, 0, 721.5377, 172.854, 0, 0, 1],
        r: [1, 0, 0, 0, 1, 0, 0, 0, 1],
        p: [721.5377, 0, 609.5593, 44.85728, 0, 721.5377, 172.854, 0.2163791, 0, 0, 1, 0.002745884],
        binning_x: 0,
        binning_y: 0,
        roi: { x_offset: 1, y_offset: 2, height: 3, width: 4, do_rectify: true },
      };
      await add("/kitti/camera_info", t + 5n, info, { value: info });
      const tf = {
        transforms: [
          {
            header: { stamp, frame_id: "base_link" },
            child_frame_id: "velo_link",
            transform: { translation: { x: 0.81, y: -0.32, z: 0.8 }, rotation: { x: 0, y: 0, z: 0.0087265, w: 0.99996192 } },
          },
          {
            header: { stamp, frame_id: "velo_link" },
            child_frame_id: "camera_color_left",
            transform: { translation: { x: 0.27, y: 0, z: -0.08 }, rotation: { x: -0.5, y: 0.5, z: -0.5, w: 0.5 } },
          },
        ],
      };
      await add("/tf", t + 7n, tf, { value: tf });
    }
  }
  await w.end();
  await fh.close();
  process.stdout.write(json(written) + "\n");
}

async function read(file) {
  await Promise.all([lz4decompress.isLoaded, zstd.isLoaded]);
  const fh = await open(file, "r");
  const { size } = await fh.stat();
  const readable = {
    size: async () => BigInt(size),
    read: async (offset, length) => {
      const buf = new Uint8Array(Number(length));
      await fh.read(buf, 0, buf.byteLength, Number(offset));
      return buf;
    },
  };
  const r = await McapIndexedReader.Initialize({
    readable,
    decompressHandlers: {
      lz4: (buf, n) => lz4decompress(buf, Number(n)),
      zstd: (buf, n) => zstd.decompress(buf, Number(n)),
    },
  });
  const readers = new Map();
  const out = {
    profile: r.header.profile,
    library: r.header.library,
    statistics: r.statistics,
    chunks: r.chunkIndexes.map((c) => ({ compression: c.compression, messageStartTime: c.messageStartTime, messageEndTime: c.messageEndTime })),
    schemas: [...r.schemasById.values()].map((s) => ({ id: s.id, name: s.name, encoding: s.encoding })),
    channels: [...r.channelsById.values()].map((c) => ({
      id: c.id,
      topic: c.topic,
      schemaId: c.schemaId,
      messageEncoding: c.messageEncoding,
      metadata: Object.fromEntries(c.metadata),
    })),
    metadata: [],
    messages: [],
  };
  for await (const m of r.readMetadata()) {
    out.metadata.push({ name: m.name, metadata: Object.fromEntries(m.metadata) });
  }
  for await (const m of r.readMessages({ validateCrcs: true })) {
    const ch = r.channelsById.get(m.channelId);
    const sc = r.schemasById.get(ch.schemaId);
    let reader = readers.get(sc.id);
    if (!reader) {
      reader = new MessageReader(parse(new TextDecoder().decode(sc.data), { ros2: true }));
      readers.set(sc.id, reader);
    }
    const v = reader.readMessage(m.data);
    const rec = { topic: ch.topic, type: sc.name, sequence: m.sequence, logTime: m.logTime, publishTime: m.publishTime };
    if (sc.name === "sensor_msgs/msg/PointCloud2" || sc.name === "foxglove_msgs/msg/PointCloud" || sc.name === "foxglove_msgs/msg/CompressedImage") {
      rec.sha256 = createHash("sha256").update(v.data).digest("hex");
      v.data = v.data.byteLength;
    }
    rec.value = v;
    out.messages.push(rec);
  }
  await fh.close();
  process.stdout.write(json(out) + "\n");
}

const sha256 = (b) => createHash("sha256").update(b).digest("hex");

async function writeFrames(out, compression, lidar, png, jpegs) {
  await zstd.isLoaded;
  const fh = await open(out, "w");
  const w = new McapWriter({ writable: new FileWritable(fh), chunkSize: 1 << 20, compressChunk: chunkCompressor(compression) });
  await w.start({ profile: "ros2", library: "ds3d-go npm reference" });
  const writers = {};
  const channels = {};
  const channel = async (topic, type) => {
    if (!writers[type]) {
      const text = await definition(type);
      const schemaId = await w.registerSchema({ name: type, encoding: "ros2msg", data: new TextEncoder().encode(text) });
      writers[type] = { schemaId, writer: new MessageWriter(parse(text, { ros2: true })) };
    }
    const channelId = await w.registerChannel({ topic, schemaId: writers[type].schemaId, messageEncoding: "cdr", metadata: new Map() });
    channels[topic] = { id: channelId, writer: writers[type].writer };
  };
  const written = { messages: [] };
  let seq = 0;
  // The nuScenes file names end in the capture time, µs since the epoch.
  const stampOf = (file) => BigInt(/__(\d+)\.[^_]*$/.exec(path.basename(file))[1]) * 1000n;
  const add = async (topic, type, t, msg, summary) => {
    if (!channels[topic]) await channel(topic, type);
    const c = channels[topic];
    msg.header = { stamp: { sec: Number(t / 1_000_000_000n), nanosec: Number(t % 1_000_000_000n) }, frame_id: summary.frame_id };
    await w.addMessage({ channelId: c.id, sequence: seq++, logTime: t, publishTime: t, data: c.writer.writeMessage(msg) });
    written.messages.push({ topic, type, logTime: t, ...summary });
  };

  const raw = await readFile(lidar);
  const n = raw.byteLength / 20;
  await add(
    "/nuscenes/LIDAR_TOP",
    "sensor_msgs/msg/PointCloud2",
    stampOf(lidar),
    {
      height: 1,
      width: n,
      fields: ["x", "y", "z", "intensity", "ring"].map((name, k) => ({ name, offset: 4 * k, datatype: 7, count: 1 })),
      is_bigendian: false,
      point_step: 20,
      row_step: 20 * n,
      data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
      is_dense: true,
    },
    { frame_id: "LIDAR_TOP", file: path.basename(lidar), width: n, bytes: raw.byteLength, sha256: sha256(raw) },
  );
  for (const jpg of jpegs) {
    const cam = /__(CAM_[A-Z_]+)__/.exec(path.basename(jpg))[1];
    const data = await readFile(jpg);
    await add(
      `/nuscenes/${cam}/image/compressed`,
      "sensor_msgs/msg/CompressedImage",
      stampOf(jpg),
      { format: "jpeg", data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) },
      { frame_id: cam, file: path.basename(jpg), format: "jpeg", bytes: data.byteLength, sha256: sha256(data) },
    );
  }
  const t0 = 1_317_000_000_000_000_000n; // 2011-09-26, when KITTI was recorded
  const pngData = await readFile(png);
  await add(
    "/kitti/image_2/compressed",
    "sensor_msgs/msg/CompressedImage",
    t0,
    { format: "png", data: new Uint8Array(pngData.buffer, pngData.byteOffset, pngData.byteLength) },
    { frame_id: "camera_color_left", file: path.basename(png), format: "png", bytes: pngData.byteLength, sha256: sha256(pngData) },
  );
  // pngjs hands back 8-bit RGBA whatever the file's colour type; rgb8 keeps
  // the first three bytes of each pixel.
  const img = PNG.sync.read(pngData);
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; i < img.data.length; i += 4, j += 3) {
    rgb[j] = img.data[i];
    rgb[j + 1] = img.data[i + 1];
    rgb[j + 2] = img.data[i + 2];
  }
  await add(
    "/kitti/image_2/raw",
    "sensor_msgs/msg/Image",
    t0 + 1n,
    { height: img.height, width: img.width, encoding: "rgb8", is_bigendian: 0, step: 3 * img.width, data: rgb },
    { frame_id: "camera_color_left", file: path.basename(png), encoding: "rgb8", width: img.width, height: img.height, bytes: rgb.byteLength, sha256: sha256(rgb) },
  );
  await w.end();
  await fh.close();
  process.stdout.write(json(written) + "\n");
}

function chunkCompressor(compression) {
  return {
    none: undefined,
    lz4: (data) => ({ compression: "lz4", compressedData: new Uint8Array(lz4js.compress(data)) }),
    zstd: (data) => ({ compression: "zstd", compressedData: zstd.compress(data, 3) }),
  }[compression];
}

async function benchWrite(out, compression, bin, n, rounds) {
  await zstd.isLoaded;
  const type = "sensor_msgs/msg/PointCloud2";
  const text = await definition(type);
  const raw = await readFile(bin);
  const points = raw.byteLength / 16;
  const data = new MessageWriter(parse(text, { ros2: true })).writeMessage({
    header: { stamp: { sec: 1, nanosec: 0 }, frame_id: "velo_link" },
    height: 1,
    width: points,
    fields: ["x", "y", "z", "intensity"].map((name, k) => ({ name, offset: 4 * k, datatype: 7, count: 1 })),
    is_bigendian: false,
    point_step: 16,
    row_step: 16 * points,
    data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
    is_dense: true,
  });
  for (let r = 0; r < rounds; r++) {
    const fh = await open(out, "w");
    const t0 = performance.now();
    const w = new McapWriter({ writable: new FileWritable(fh), chunkSize: 768 * 1024, compressChunk: chunkCompressor(compression) });
    await w.start({ profile: "ros2", library: "ds3d-go npm reference" });
    const schemaId = await w.registerSchema({ name: type, encoding: "ros2msg", data: new TextEncoder().encode(text) });
    const channelId = await w.registerChannel({ topic: "/kitti/velo", schemaId, messageEncoding: "cdr", metadata: new Map() });
    for (let i = 0; i < n; i++) {
      const t = BigInt(i) * 100_000_000n;
      await w.addMessage({ channelId, sequence: i, logTime: t, publishTime: t, data });
    }
    await w.end();
    await fh.close();
    const ms = (performance.now() - t0) / n;
    const mbs = data.byteLength / 1e3 / ms;
    process.stdout.write(JSON.stringify({ op: "write", compression, round: r, messages: n, bytes: data.byteLength, ms_per_msg: ms, mb_s: mbs }) + "\n");
  }
}

async function benchRead(file, rounds) {
  await Promise.all([lz4decompress.isLoaded, zstd.isLoaded]);
  let dst = new Uint8Array(0);
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const fh = await open(file, "r");
    const { size } = await fh.stat();
    const readable = {
      size: async () => BigInt(size),
      read: async (offset, length) => {
        const buf = new Uint8Array(Number(length));
        await fh.read(buf, 0, buf.byteLength, Number(offset));
        return buf;
      },
    };
    const rd = await McapIndexedReader.Initialize({
      readable,
      decompressHandlers: {
        lz4: (buf, n) => lz4decompress(buf, Number(n)),
        zstd: (buf, n) => zstd.decompress(buf, Number(n)),
      },
    });
    const readers = new Map();
    let n = 0;
    let points = 0;
    for await (const m of rd.readMessages({ validateCrcs: true })) {
      const sc = rd.schemasById.get(rd.channelsById.get(m.channelId).schemaId);
      let reader = readers.get(sc.id);
      if (!reader) {
        reader = new MessageReader(parse(new TextDecoder().decode(sc.data), { ros2: true }));
        readers.set(sc.id, reader);
      }
      const v = reader.readMessage(m.data);
      if (sc.name === "sensor_msgs/msg/PointCloud2") {
        if (dst.byteLength < v.data.byteLength) dst = new Uint8Array(v.data.byteLength);
        dst.set(v.data);
        points += v.width * v.height;
      }
      n++;
    }
    await fh.close();
    const ms = (performance.now() - t0) / n;
    process.stdout.write(JSON.stringify({ op: "read", round: r, messages: n, points, ms_per_msg: ms }) + "\n");
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "write") {
  await write(args[0], args[1], args.slice(2));
} else if (mode === "write-frames") {
  await writeFrames(args[0], args[1], args[2], args[3], args.slice(4));
} else if (mode === "read") {
  await read(args[0]);
} else if (mode === "bench-write") {
  await benchWrite(args[0], args[1], args[2], Number(args[3] ?? 20), Number(args[4] ?? 3));
} else if (mode === "bench-read") {
  await benchRead(args[0], Number(args[1] ?? 3));
} else {
  console.error(
    "usage: node bag.mjs write OUT.mcap lz4|zstd|none BIN... | write-frames OUT.mcap lz4|zstd|none LIDAR.pcd.bin PNG JPG... | read FILE.mcap | bench-write OUT.mcap lz4|zstd|none BIN N ROUNDS | bench-read FILE.mcap ROUNDS",
  );
  process.exit(2);
}
