// Reference server for the foxglove_ws_source tests: the FoxgloveServer of
// @foxglove/ws-protocol advertises a sensor_msgs/msg/PointCloud2 topic
// (cdr, ros2msg schema) and, while a client is subscribed, sends a KITTI
// .bin scan encoded by the MessageWriter of @foxglove/rosmsg2-serialization,
// message k stamped k × 100 ms after 1 700 000 000 s. It prints "ready"
// once listening and, with a count, exits after sending that many. With
// an image file it also serves, with each cloud, the file as a png
// sensor_msgs/msg/CompressedImage on /kitti/image/compressed, KITTI's left
// colour camera as sensor_msgs/msg/CameraInfo on /kitti/camera_info and
// the velodyne → camera transform on /tf_static.
//
//   node server.mjs PORT FILE.bin TOPIC RATE_HZ COUNT [IMAGE.png]
import wsProtocol from "@foxglove/ws-protocol";
import rosmsg from "@foxglove/rosmsg";
import rosmsg2 from "@foxglove/rosmsg2-serialization";
import { WebSocketServer } from "ws";
import { readFileSync } from "node:fs";

const { FoxgloveServer } = wsProtocol;
const [port, file, topic, rateArg, countArg, imageFile] = process.argv.slice(2);
const count = Number(countArg ?? 0);

// sensor_msgs/msg/PointCloud2 and the types it uses, as ROS 2 defines them.
const sep = "=".repeat(80) + "\n";
const schema = "std_msgs/Header header\nuint32 height\nuint32 width\nsensor_msgs/PointField[] fields\n" +
  "bool is_bigendian\nuint32 point_step\nuint32 row_step\nuint8[] data\nbool is_dense\n" +
  sep + "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n" +
  sep + "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n" +
  sep + "MSG: sensor_msgs/PointField\nuint8 INT8=1\nuint8 UINT8=2\nuint8 INT16=3\nuint8 UINT16=4\n" +
  "uint8 INT32=5\nuint8 UINT32=6\nuint8 FLOAT32=7\nuint8 FLOAT64=8\nstring name\nuint32 offset\nuint8 datatype\nuint32 count\n";
const writer = new rosmsg2.MessageWriter(rosmsg.parse(schema, { ros2: true }));
const bin = readFileSync(file);
const n = bin.length / 16;
const field = (name, offset) => ({ name, offset, datatype: 7, count: 1 });

const server = new FoxgloveServer({ name: "reference" });
const chan = server.addChannel({ topic, encoding: "cdr", schemaName: "sensor_msgs/msg/PointCloud2", schema, schemaEncoding: "ros2msg" });

// The camera topics, each with its ROS 2 definition.
const header = sep + "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n" +
  sep + "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n";
const cameraSchemas = {
  "sensor_msgs/msg/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data\n" + header,
  "sensor_msgs/msg/CameraInfo": "std_msgs/Header header\nuint32 height\nuint32 width\nstring distortion_model\n" +
    "float64[] d\nfloat64[9] k\nfloat64[9] r\nfloat64[12] p\nuint32 binning_x\nuint32 binning_y\n" +
    "sensor_msgs/RegionOfInterest roi\n" + header +
    sep + "MSG: sensor_msgs/RegionOfInterest\nuint32 x_offset\nuint32 y_offset\nuint32 height\nuint32 width\nbool do_rectify\n",
  "tf2_msgs/msg/TFMessage": "geometry_msgs/TransformStamped[] transforms\n" +
    sep + "MSG: geometry_msgs/TransformStamped\nstd_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform\n" +
    header +
    sep + "MSG: geometry_msgs/Transform\ngeometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation\n" +
    sep + "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n" +
    sep + "MSG: geometry_msgs/Quaternion\nfloat64 x\nfloat64 y\nfloat64 z\nfloat64 w\n",
};
const camera = [];
if (imageFile) {
  const png = readFileSync(imageFile);
  const add = (t, type, msg) => {
    const w = new rosmsg2.MessageWriter(rosmsg.parse(cameraSchemas[type], { ros2: true }));
    const id = server.addChannel({ topic: t, encoding: "cdr", schemaName: type, schema: cameraSchemas[type], schemaEncoding: "ros2msg" });
    camera.push({ id, msg: (stamp) => w.writeMessage(msg(stamp)) });
  };
  add("/kitti/image/compressed", "sensor_msgs/msg/CompressedImage", (stamp) => ({
    header: { stamp, frame_id: "camera" }, format: "png", data: new Uint8Array(png.buffer, png.byteOffset, png.byteLength),
  }));
  add("/kitti/camera_info", "sensor_msgs/msg/CameraInfo", (stamp) => ({
    header: { stamp, frame_id: "camera" }, height: 375, width: 1242, distortion_model: "plumb_bob",
    d: [0, 0, 0, 0, 0], k: [721.5377, 0, 609.5593, 0, 721.5377, 172.854, 0, 0, 1], r: [1, 0, 0, 0, 1, 0, 0, 0, 1],
    p: [721.5377, 0, 609.5593, 0, 0, 721.5377, 172.854, 0, 0, 0, 1, 0], binning_x: 0, binning_y: 0,
    roi: { x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false },
  }));
  // The camera (x right, y down, z forward) 0.27 m ahead of the velodyne
  // and 0.08 m below it: the ROS optical-frame rotation.
  add("/tf_static", "tf2_msgs/msg/TFMessage", (stamp) => ({
    transforms: [{ header: { stamp, frame_id: "velodyne" }, child_frame_id: "camera",
      transform: { translation: { x: 0.27, y: 0, z: -0.08 }, rotation: { x: -0.5, y: 0.5, z: -0.5, w: 0.5 } } }],
  }));
}
const subscribed = new Set();
server.on("subscribe", (id) => subscribed.add(id));
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port), handleProtocols: (p) => server.handleProtocols(p) });
wss.on("listening", () => console.log("ready"));
wss.on("connection", (conn, req) => server.handleConnection(conn, `${req.socket.remoteAddress}:${req.socket.remotePort}`));

let k = 0;
let timer = null;
server.on("subscribe", (id) => {
  if (id !== chan || timer) return;
  timer = setInterval(() => {
    const stampNs = 1_700_000_000n * 1_000_000_000n + BigInt(k) * 100_000_000n;
    const msg = {
      header: { stamp: { sec: Number(stampNs / 1_000_000_000n), nanosec: Number(stampNs % 1_000_000_000n) }, frame_id: "velodyne" },
      height: 1, width: n,
      fields: [field("x", 0), field("y", 4), field("z", 8), field("intensity", 12)],
      is_bigendian: false, point_step: 16, row_step: 16 * n,
      data: new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength), is_dense: true,
    };
    // Camera topics first, so that the cloud finds them in place.
    for (const c of camera) {
      if (subscribed.has(c.id)) server.sendMessage(c.id, stampNs, c.msg(msg.header.stamp));
    }
    server.sendMessage(chan, stampNs, writer.writeMessage(msg));
    k++;
    if (count > 0 && k >= count) {
      clearInterval(timer);
      // Let the last frame leave before the process ends.
      setTimeout(() => process.exit(0), 200);
    }
  }, 1000 / Number(rateArg));
});
