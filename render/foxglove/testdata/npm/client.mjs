// Reference client for the foxglove_ws tests: connects with the
// FoxgloveClient of @foxglove/ws-protocol, subscribes to the topics named on
// the command line, decodes each message's CDR with
// @foxglove/rosmsg2-serialization from the schema the server advertised and
// prints what it decoded as one JSON line per message, then exits after
// `count` messages per topic.
//
//   node client.mjs ws://127.0.0.1:8765 count topic...
import wsProtocol from "@foxglove/ws-protocol";
import rosmsg from "@foxglove/rosmsg";
import rosmsg2 from "@foxglove/rosmsg2-serialization";
import WebSocket from "ws";

const { FoxgloveClient } = wsProtocol;
const { parse } = rosmsg;
const { MessageReader } = rosmsg2;

const [url, countArg, ...topics] = process.argv.slice(2);
const want = Number(countArg);
const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
const client = new FoxgloveClient({ ws });
const subs = new Map(); // subscription id → {channel, reader, n}
let serverName = "";

const FIELD = { 1: ["getInt8", 1], 2: ["getUint8", 1], 3: ["getInt16", 2], 4: ["getUint16", 2],
  5: ["getInt32", 4], 6: ["getUint32", 4], 7: ["getFloat32", 4], 8: ["getFloat64", 8] };

function pointCloud(msg) {
  const view = new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  const n = msg.width * msg.height;
  const get = (i, f) => view[FIELD[f.datatype][0]](i * msg.point_step + f.offset, !msg.is_bigendian);
  const names = msg.fields.map((f) => f.name);
  const point = (i) => msg.fields.map((f) => get(i, f));
  // x y z intensity of every point, repacked as little-endian float32.
  const xyzi = Buffer.alloc(n * 16);
  const pick = ["x", "y", "z", "intensity"].map((k) => msg.fields.find((f) => f.name === k));
  for (let i = 0; i < n; i++) {
    pick.forEach((f, k) => xyzi.writeFloatLE(f ? get(i, f) : 0, i * 16 + 4 * k));
  }
  return {
    frame_id: msg.header.frame_id, sec: msg.header.stamp.sec, nanosec: msg.header.stamp.nanosec,
    width: msg.width, height: msg.height, point_step: msg.point_step, fields: names,
    count: n, first: n ? point(0) : [], last: n ? point(n - 1) : [], xyzi_b64: xyzi.toString("base64"),
  };
}

// foxglove_msgs/msg/PackedElementField types, which number the datatypes
// in another order than sensor_msgs/msg/PointField.
const PACKED = { 1: ["getUint8", 1], 2: ["getInt8", 1], 3: ["getUint16", 2], 4: ["getInt16", 2],
  5: ["getUint32", 4], 6: ["getInt32", 4], 7: ["getFloat32", 4], 8: ["getFloat64", 8] };

// foxPointCloud reads a foxglove_msgs/msg/PointCloud (always little endian)
// into the same summary as pointCloud, plus its pose.
function foxPointCloud(msg) {
  const view = new DataView(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  const n = msg.point_stride ? Math.floor(msg.data.byteLength / msg.point_stride) : 0;
  const get = (i, f) => view[PACKED[f.type][0]](i * msg.point_stride + f.offset, true);
  const point = (i) => msg.fields.map((f) => get(i, f));
  const xyzi = Buffer.alloc(n * 16);
  const pick = ["x", "y", "z", "intensity"].map((k) => msg.fields.find((f) => f.name === k));
  for (let i = 0; i < n; i++) {
    pick.forEach((f, k) => xyzi.writeFloatLE(f ? get(i, f) : 0, i * 16 + 4 * k));
  }
  const p = msg.pose;
  return {
    frame_id: msg.frame_id, sec: msg.timestamp.sec, nanosec: msg.timestamp.nanosec,
    width: n, height: 1, point_step: msg.point_stride, fields: msg.fields.map((f) => f.name),
    count: n, first: n ? point(0) : [], last: n ? point(n - 1) : [], xyzi_b64: xyzi.toString("base64"),
    pose: [p.position.x, p.position.y, p.position.z, p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w],
  };
}

function markers(msg) {
  return msg.markers.map((m) => ({
    frame_id: m.header.frame_id, ns: m.ns, id: m.id, type: m.type, action: m.action,
    position: [m.pose.position.x, m.pose.position.y, m.pose.position.z],
    orientation: [m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, m.pose.orientation.w],
    scale: [m.scale.x, m.scale.y, m.scale.z], color: [m.color.r, m.color.g, m.color.b, m.color.a],
    lifetime: [m.lifetime.sec, m.lifetime.nanosec],
  }));
}

function finish(code) {
  client.close();
  process.exitCode = code;
}

client.on("serverInfo", (info) => { serverName = info.name; });
client.on("status", (s) => console.log(JSON.stringify({ status: s })));
client.on("error", (e) => { console.error("client error:", e); finish(1); });
client.on("advertise", (channels) => {
  for (const ch of channels) {
    if (!topics.includes(ch.topic)) continue;
    if (ch.encoding !== "cdr" || ch.schemaEncoding !== "ros2msg") {
      console.error(`topic ${ch.topic}: encoding ${ch.encoding}/${ch.schemaEncoding}`);
      finish(1);
      return;
    }
    const reader = new MessageReader(parse(ch.schema, { ros2: true }));
    const id = client.subscribe(ch.id);
    subs.set(id, { channel: ch, reader, n: 0 });
  }
  console.log(JSON.stringify({ subscribed: [...subs.values()].map((s) => s.channel.topic), server: serverName }));
});
client.on("message", ({ subscriptionId, timestamp, data }) => {
  const sub = subs.get(subscriptionId);
  if (!sub) {
    console.error(`message for unknown subscription ${subscriptionId}`);
    finish(1);
    return;
  }
  if (sub.n >= want) return;
  sub.n++;
  const msg = sub.reader.readMessage(data);
  const out = { topic: sub.channel.topic, schema: sub.channel.schemaName, receive_ns: timestamp.toString() };
  if (sub.channel.schemaName === "sensor_msgs/msg/PointCloud2") out.cloud = pointCloud(msg);
  else if (sub.channel.schemaName === "foxglove_msgs/msg/PointCloud") out.cloud = foxPointCloud(msg);
  else if (sub.channel.schemaName === "foxglove_msgs/msg/CompressedImage") {
    out.image = { frame_id: msg.frame_id, format: msg.format, data_b64: Buffer.from(msg.data).toString("base64"),
      sec: msg.timestamp.sec, nanosec: msg.timestamp.nanosec };
  } else if (sub.channel.schemaName === "foxglove_msgs/msg/FrameTransforms") {
    out.transforms = msg.transforms.map((t) => ({
      parent: t.parent_frame_id, child: t.child_frame_id,
      translation: [t.translation.x, t.translation.y, t.translation.z],
      rotation: [t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w],
    }));
  }
  else if (sub.channel.schemaName === "visualization_msgs/msg/MarkerArray") out.markers = markers(msg);
  else if (sub.channel.schemaName === "vision_msgs/msg/Detection3DArray") {
    out.detections = msg.detections.map((d) => ({
      frame_id: d.header.frame_id, id: d.id,
      class_id: d.results[0].hypothesis.class_id, score: d.results[0].hypothesis.score,
      center: [d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z],
      size: [d.bbox.size.x, d.bbox.size.y, d.bbox.size.z],
    }));
  } else if (sub.channel.schemaName === "sensor_msgs/msg/CompressedImage") {
    out.image = { frame_id: msg.header.frame_id, format: msg.format, data_b64: Buffer.from(msg.data).toString("base64") };
  } else if (sub.channel.schemaName === "tf2_msgs/msg/TFMessage") {
    out.transforms = msg.transforms.map((t) => ({
      parent: t.header.frame_id, child: t.child_frame_id,
      translation: [t.transform.translation.x, t.transform.translation.y, t.transform.translation.z],
      rotation: [t.transform.rotation.x, t.transform.rotation.y, t.transform.rotation.z, t.transform.rotation.w],
    }));
  }
  console.log(JSON.stringify(out));
  if ([...subs.values()].every((s) => s.n >= want) && subs.size === topics.length) finish(0);
});
